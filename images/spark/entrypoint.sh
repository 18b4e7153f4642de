#!/bin/bash
# The Spark image's entrypoint. Spark on Kubernetes starts executor pods with the single
# argument `executor` and describes the executor in environment variables (SPARK_DRIVER_URL,
# SPARK_EXECUTOR_ID, SPARK_JAVA_OPT_<n>, …); this turns them into the executor JVM's command.
# Any other command (spark-submit for the Connect server, spark-class for the History Server,
# a probe) runs as given.
set -euo pipefail

if [ "${1:-}" != "executor" ]; then
    exec "$@"
fi
shift

# SPARK_JAVA_OPT_0, SPARK_JAVA_OPT_1, … in numeric order, each one argument.
java_opts=()
for i in $(compgen -e | sed -n 's/^SPARK_JAVA_OPT_\([0-9]\+\)$/\1/p' | sort -n); do
    name="SPARK_JAVA_OPT_$i"
    java_opts+=("${!name}")
done

classpath="${SPARK_HOME}/jars/*"
if [ -n "${SPARK_EXTRA_CLASSPATH:-}" ]; then
    classpath="${classpath}:${SPARK_EXTRA_CLASSPATH}"
fi
if [ -d "${SPARK_CONF_DIR:-/opt/spark/conf}" ]; then
    classpath="${SPARK_CONF_DIR:-/opt/spark/conf}:${classpath}"
fi

exec "${JAVA_HOME}/bin/java" "${java_opts[@]}" \
    "-Xms${SPARK_EXECUTOR_MEMORY}" "-Xmx${SPARK_EXECUTOR_MEMORY}" \
    -cp "${classpath}" \
    org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend \
    --driver-url "${SPARK_DRIVER_URL}" \
    --executor-id "${SPARK_EXECUTOR_ID}" \
    --cores "${SPARK_EXECUTOR_CORES}" \
    --app-id "${SPARK_APPLICATION_ID}" \
    --hostname "${SPARK_EXECUTOR_POD_IP}" \
    --resourceProfileId "${SPARK_RESOURCE_PROFILE_ID:-0}" \
    --podName "${SPARK_EXECUTOR_POD_NAME}" \
    "$@"
