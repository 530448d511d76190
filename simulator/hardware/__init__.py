"""The simulator's virtual hardware: what ``firmware.hal`` asks of a port, on virtual time.

Every part reads one ``SimClock``, whose true time moves only when the simulation says so,
so a ten-hour shift or six months of retention take as long as the work they contain. The
camera renders a moving scene with OpenCV and burns the agent's overlay into it, the
microphone yields PCM blocks (a quiet tone, or speech queued for a spoken reason), the
battery drains by a simple model, the SD card refuses writes past its capacity the way a full
card does, the RTC drifts and can lose its time, the GPS walks a track, and the buttons name
the recorder inputs they cause. One module per part; their names are importable from here,
except the media encoder's (``simulator.hardware.encoder``: the scene and the microphone
through the Linux port's H.264/H.265 and AAC encoders), which loads PyAV and is imported
only by a device whose scenario asks for those codecs.
"""
# micropython: skip (OpenCV and numpy; the simulator runs on CPython only)

from simulator.hardware.battery import SimBattery
from simulator.hardware.buttons import Buttons
from simulator.hardware.camera import SceneCamera
from simulator.hardware.clock import RTC_RESET_MS, SimClock
from simulator.hardware.gps import GpsTrack
from simulator.hardware.microphone import SimMicrophone, pcm_samples, read_wav, synthetic_voice
from simulator.hardware.sdcard import CardStore, SdCard

__all__ = [
    "RTC_RESET_MS",
    "Buttons",
    "CardStore",
    "GpsTrack",
    "SceneCamera",
    "SdCard",
    "SimBattery",
    "SimClock",
    "SimMicrophone",
    "pcm_samples",
    "read_wav",
    "synthetic_voice",
]
