#!/bin/sh
# Like the official image: started without a config file, Redis would stay in protected
# mode and refuse the other containers; the official entrypoint turns it off the same way.
set -e
if [ "$1" = "redis-server" ]; then
  shift
  exec redis-server --protected-mode no "$@"
fi
exec "$@"
