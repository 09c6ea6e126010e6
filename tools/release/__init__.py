"""Firmware bundles and releases: the files a node's flash holds, the checks of a bundle, and
the release manager's keygen, build, sign and publish."""
