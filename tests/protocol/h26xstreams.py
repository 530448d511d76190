"""Opening bytes of real H.264/H.265 streams with three B-frames (x264 and x265, through
PyAV): parameter sets and the first bytes of each picture's first slice, in decode order,
which is all ``protocol.h26x.PictureOrder`` reads of a slice."""

AVC_SPS = bytes.fromhex("674d400beca146d080000003008000001e078a14cb")
AVC_PPS = bytes.fromhex("68ce0fc8")
AVC_SLICES = [
    bytes.fromhex(h)
    for h in (
        "65888400e82980e000207000",  # IDR
        "419a2400cac0c1158a00023c",  # P
        "419e42402eac1860f2",  # B used as a reference
        "019e61405558630790",  # B, not a reference
        "019e63405550670790",
        "419a68344065608789c1c000",
        "419e864511285d5fa0638a5c",
        "019ea5405550670790",
        "019ea740552419c50678a0cf",
        "419aac344065213e15c07000",
    )
]
HEVC_VPS = bytes.fromhex("40010c01ffff01600000030090000003000003001e959409")
HEVC_SPS = bytes.fromhex(
    "42010101600000030090000003000003001ea01420616595952930b9a020000003002000000303c1"
)
HEVC_PPS = bytes.fromhex("4401c073c189")
HEVC_SLICES = [
    bytes.fromhex(h)
    for h in (
        "2801ac2165c120953c28cc34",  # CRA opening the stream
        "0201d021498810b3462c8d94",
        "0201e0449560812370c03caa",
        "0001e024fd7a240a5b663c32",
        "0001e066b5e081436cc03205",
        "0201d040925562040de5e44f",
        "0201e0c2255558204ad2c099",
        "0001e0a6f5d7a240a1a58099",
        "0001e0e22d5782050d2c992c",
        "0201d060b255562040d4c0f3",
    )
]
