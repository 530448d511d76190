"""Virtual recorders and faults for hardware-in-the-loop tests and demos."""
