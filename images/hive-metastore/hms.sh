#!/bin/sh
# The metastore image's entrypoint: `schema` initialises the schema {{SCHEMA_VERSION}} in the
# database unless `-info` finds it there (an init container, so idempotent); `server` runs
# the Thrift server. The configuration comes from /etc/hms-template (the chart's ConfigMap)
# with @DB_PASSWORD@ replaced from the environment, written where only this user reads it.
# log4j.configurationFile must be set (not only log4j2.…): without it Hive turns on async
# logging, whose LMAX disruptor jar is not on the classpath, and the server dies at start.
set -eu
umask 077
CONF=/tmp/hms-conf
mkdir -p "$CONF" /tmp/hadoop/s3a
pw=$(printf '%s' "${DB_PASSWORD:?DB_PASSWORD is not set}" | sed 's/[|&\\]/\\&/g')
for f in /etc/hms-template/*.xml; do
  sed "s|@DB_PASSWORD@|$pw|" "$f" > "$CONF/$(basename "$f")"
done
cp /opt/hms/log4j2.properties "$CONF/metastore-log4j2.properties"
export METASTORE_CONF_DIR="$CONF" HIVE_CONF_DIR="$CONF" METASTORE_HOME="/opt/hms/dist/apache-hive-metastore-{{HMS}}-bin"
CP="$CONF:/opt/hms/patch/classes:/opt/hms/jars/*"
set -- "${1:-server}"
JAVA="java -Xmx${HMS_HEAP:-512m} -XX:+UseSerialGC -Djava.net.preferIPv4Stack=true -Djava.io.tmpdir=/tmp -Dlog4j.configurationFile=$CONF/metastore-log4j2.properties -Dlog4j2.configurationFile=$CONF/metastore-log4j2.properties {{OPENS}}"
case "$1" in
  schema)
    if info=$($JAVA -cp "$CP" {{SCHEMA_CLASS}} -dbType postgres -info 2>&1) \
        && printf '%s\n' "$info" | grep -q "schema version:[[:space:]]*{{SCHEMA_VERSION}}"; then
      echo "metastore schema {{SCHEMA_VERSION}} already there"
      exit 0
    fi
    exec $JAVA -cp "$CP" {{SCHEMA_CLASS}} -dbType postgres -initSchema
    ;;
  server)
    exec $JAVA -cp "$CP" {{MAIN_CLASS}}
    ;;
  *)
    echo "usage: hms schema|server" >&2
    exit 2
    ;;
esac
