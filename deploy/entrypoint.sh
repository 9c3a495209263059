#!/bin/sh
# Every process of the image (server, `ray start` on a node) sees the Java modules' jars as
# the in-JVM check's classpath: explicit ':'-joined paths, as bridge/jvm expects.
set -e
DISTILL_BRIDGE_JAVA_CLASSPATH=$(ls /opt/distill-bridge/java/*.jar | paste -sd: -)
export DISTILL_BRIDGE_JAVA_CLASSPATH
exec "$@"
