#!/usr/bin/env bash
# The demo of what exists today: real Kafka clients' requests (recorded by scripts/capture from
# kcat, confluent-kafka, kafka-python and aiokafka) decoded by Eddy's generated codecs, with their
# record batches checked (CRC-32C) and decompressed.
set -euo pipefail
cd "$(dirname "$0")/.."
captures=Tests/EddyWireTests/Fixtures/captures
eddy=.build/debug/eddy
echo "== eddy $($eddy --version)"
for client in kcat confluent-kafka kafka-python aiokafka; do
  echo
  echo "== $client: the handshake and a zstd-compressed produce"
  $eddy inspect "$captures/$client"/zstd/*.bin
done
echo
echo "== every codec, from kafka-python"
$eddy inspect "$captures"/kafka-python/{none,gzip,snappy,lz4}/*Produce*.bin | grep -E 'batch of'
