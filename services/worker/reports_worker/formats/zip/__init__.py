"""The report's ZIP: files packed with a manifest, deflated by zlib-ng, streamed by a thread."""
