# Firmware version, set by the release build (territoire release build).
VERSION = "0.1.0"
