#!/bin/sh
# Runs this container as one process of a pyflink-rs cluster on Kubernetes: a StatefulSet's pod
# `NAME-I` is process I, and every pod is reached as NAME-I.SERVICE on RECORD_PORT.
#
#   CLUSTER_PROCESSES  the number of processes (the StatefulSet's replicas)
#   CLUSTER_SERVICE    the headless Service of the StatefulSet
#   CLUSTER_THREADS    worker threads per process (1)
#   RECORD_PORT        the port of the record connections (2101)
#   COORDINATOR_PORT   the port where process 0 coordinates (2100)
#
# The arguments are those of `pyflink-rs run` after the cluster flags, e.g. -py job.py.
set -eu

name="${HOSTNAME:?the pod's name, NAME-ORDINAL}"
ordinal="${name##*-}"
base="${name%-*}"
processes="${CLUSTER_PROCESSES:?the number of processes}"
service="${CLUSTER_SERVICE:?the headless Service}"
threads="${CLUSTER_THREADS:-1}"
record_port="${RECORD_PORT:-2101}"
hosts="${HOSTS_FILE:-/tmp/pyflink-hosts}"

: > "$hosts"
i=0
while [ "$i" -lt "$processes" ]; do
    echo "$base-$i.$service:$record_port" >> "$hosts"
    i=$((i + 1))
done

export PYFLINK_RS_CLUSTER_COORDINATOR="$base-0.$service:${COORDINATOR_PORT:-2100}"
exec pyflink-rs run --hosts "$hosts" --process-id "$ordinal" --threads "$threads" \
    -D execution.checkpointing.dir=/checkpoints -D rest.bind-address=0.0.0.0 "$@"
