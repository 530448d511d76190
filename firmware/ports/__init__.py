"""Ports: the hardware interfaces of firmware.hal filled in for one kind of device."""
