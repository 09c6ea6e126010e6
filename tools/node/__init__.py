"""The technician's work on one node: provisioning from a claim, flashing, the self-test and
the monitor on a real board (mpremote, esptool) or an emulated one, the standard node kinds,
claim-code labels."""
