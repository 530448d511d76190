"""The message catalogue: message id -> (English, Chinese), rendered by ``host.i18n.text``.

Each text is a ``str.format`` template; both languages fill the same named fields (a test
checks it). Ids are grouped by where they are shown: ``cmd.*`` the one-line summary of a
command in ``sealcam --help`` (the English is the summary the command declares), ``usage.*``
the one-line refusals of unusable arguments (exit 2), ``verdict.*`` the words of a
verification verdict, ``report.*`` the labels of a verification report, ``record.*`` the
recorder's summary, ``term.*`` the officer's terminal. The Chinese is in the plain register
of public-security software: short, exact, no figures of speech.
"""

MESSAGES: "dict[str, tuple[str, str]]" = {
    # sealcam itself
    "main.description": (
        "Signed, tamper-evident evidence for enforcement recorders. Every frame chunk and "
        "event a recorder writes is an entry in one hash-chained ledger signed with the "
        "device's Ed25519 key; these commands check and manage that evidence.",
        "执法记录仪防篡改签名证据系统。记录仪写入的每个视频分段和每个事件，都是一条用设备 "
        "Ed25519 密钥签名、以哈希链相连的签名日志记录；以下命令用于校验和管理这些证据。",
    ),
    "main.epilog": (
        "Exit codes: 0 success or OK, 1 verification NOT OK, 2 unusable input. "
        "Run 'sealcam COMMAND --help' for each command.",
        "退出码：0 成功或校验通过，1 校验不通过，2 输入无法使用。"
        "各命令的用法请运行 'sealcam 命令 --help'。",
    ),
    "main.lang": (
        "language of the messages: en (English) or zh (Chinese); default from the locale "
        "(LC_ALL, LC_MESSAGES, LANG: zh_* is Chinese). JSON output is never translated",
        "提示信息的语言：en（英文）或 zh（中文）；默认依据系统区域设置"
        "（LC_ALL、LC_MESSAGES、LANG，zh_* 为中文）。JSON 输出不翻译",
    ),
    "main.failed": ("sealcam {command}: {problem}", "sealcam {command}：{problem}"),
    "main.plugin_broken": (
        "sealcam: the command plugin {name} ({value}) could not be loaded: {error}",
        "sealcam：命令插件 {name}（{value}）无法加载：{error}",
    ),
    # one line per command in `sealcam --help`
    "cmd.verify": ("check a ledger against a device's public key", "用设备公钥校验签名日志"),
    "cmd.checkpoint": (
        "export the evidence store's newest signed checkpoint for a witness",
        "导出证据库最新的签名检查点，交见证方保存",
    ),
    "cmd.checkpoint export": (
        "write the newest signed checkpoint (a signed note)",
        "写出最新的签名检查点（一份签名文件）",
    ),
    "cmd.keygen": (
        "make a device key pair (simulated devices, tests), or the agency's keys",
        "生成设备密钥对（用于模拟设备和测试），或生成单位密钥",
    ),
    "cmd.record": (
        "run the recorder agent on this machine (Linux terminal port)",
        "在本机运行记录仪程序（Linux 终端版）",
    ),
    "cmd.enrol": ("enrol device public keys in an evidence store", "将设备公钥登记到证据库"),
    "cmd.sync": (
        "collect footage from devices over TCP and serial",
        "通过 TCP 或串口从设备采集录像",
    ),
    "cmd.dock": (
        "sync a device store to a host (the device's side)",
        "将设备存储同步到采集站（设备端）",
    ),
    "cmd.demo": (
        "the main job end to end: a virtual shift, docked, verified, exported, tampered",
        "完整流程演示：模拟一个班次，采集、校验、导出，并演示篡改被发现",
    ),
    "cmd.export": (
        "export a recording as a video file with its extraction note",
        "将一段录像导出为视频文件，并附提取说明",
    ),
    "cmd.flash": (
        "flash the agent onto a MicroPython board and provision it",
        "将记录仪程序烧录到 MicroPython 开发板并完成初始化",
    ),
    "cmd.sim": (
        "virtual recorders: run a scenario, serve a virtual MicroPython board",
        "模拟记录仪：运行测试场景，提供虚拟 MicroPython 开发板",
    ),
    "cmd.sim run": (
        "run a scenario file and check the host's verdict",
        "运行场景文件并核对采集站的校验结论",
    ),
    "cmd.sim board": (
        "run a virtual MicroPython board on a pseudo-terminal",
        "在伪终端上运行虚拟 MicroPython 开发板",
    ),
    # host/cli/common.py: arguments that cannot be used (exit 2)
    "usage.id_too_long": (
        "{what} is {length} characters long; the protocol allows ids of 1..{limit} "
        "characters: choose a shorter one",
        "{what}长 {length} 个字符；协议允许的编号长度为 1 至 {limit} 个字符，请改用更短的编号",
    ),
    "usage.what_device_id": ("the device id", "设备编号"),
    "usage.what_host_id": ("the host id", "采集站编号"),
    "usage.public_not_private": (
        "{path} is a public key; the host needs its private key to sign",
        "{path} 是公钥文件；采集站签名需要其私钥文件",
    ),
    "usage.address": (
        "give an address as HOST:PORT (a port up to 65535), not {text!r}",
        "地址格式应为 主机:端口（端口不大于 65535），而不是 {text!r}",
    ),
    "usage.number_at_least": (
        "give a number of at least {minimum:g}, not {text!r}",
        "请给出不小于 {minimum:g} 的数值，而不是 {text!r}",
    ),
    "usage.number_above": (
        "give a number above {minimum:g}, not {text!r}",
        "请给出大于 {minimum:g} 的数值，而不是 {text!r}",
    ),
    # verdict words (protocol.verify, host.mp4verify states)
    "verdict.ok": ("OK", "通过"),
    "verdict.ok_missing": ("OK with missing information", "通过（信息缺失）"),
    "verdict.not_ok": ("NOT OK", "不通过"),
    "verdict.unknown_key": ("unknown key", "密钥未知"),
    "verdict.authentic": ("AUTHENTIC", "真实"),
    "verdict.authentic_notes": ("AUTHENTIC WITH NOTES", "真实（附说明）"),
    "verdict.missing_parts": ("MISSING PARTS", "部分缺失"),
    "verdict.unverifiable": ("UNVERIFIABLE", "无法验证"),
    "verdict.altered": ("ALTERED", "已被篡改"),
    # host/report_text.py: a ledger's verification report
    "report.ledger": ("Ledger   {source}", "签名日志  {source}"),
    "report.device": ("Device   {device}", "设备      {device}"),
    "report.entries": (
        "Entries  {entries} ({signed} signed)",
        "记录数    {entries}（已签名 {signed}）",
    ),
    "report.seq": (", seq {first} to {last}", "，序号 {first} 至 {last}"),
    "report.time": ("Time     {first} to {last}", "时间      {first} 至 {last}"),
    "report.no_time": ("Time     none", "时间      无"),
    "report.state": ("State    {mark} {state}", "结论      {mark} {state}"),
    "report.findings": ("Findings", "发现的问题"),
    # host/cli/record.py: the recorder's summary
    "record.summary": (
        "recorded {frames} {codec} frames and {sound} into {store}: {entries} ledger "
        "entries, {media_bytes} media bytes; ledger {state}",
        "已录制 {frames} 帧 {codec} 画面和{sound}，存入 {store}：签名日志 {entries} 条，"
        "媒体 {media_bytes} 字节；签名日志校验{state}",
    ),
    "record.sound": ("{count} audio frames", "{count} 帧声音"),
    "record.no_sound": ("no sound", "无声音"),
}
