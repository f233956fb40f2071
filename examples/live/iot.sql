-- Live IoT monitoring (make demo): every sensor's readings summarised per 10 seconds into a Parquet
-- data lake (partitioned by site), and readings above 80 °C raised as alerts to the topic iot.alerts
-- and to SQLite.
--   eddy gen sensors --live --rate 1000 --count 100000000 --bootstrap-server 127.0.0.1:9092 --topic iot.readings

CREATE TABLE readings (
  sensor_id   STRING,
  site        STRING,
  temperature DOUBLE,
  humidity    DOUBLE,
  event_time  TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND
) WITH ('connector' = 'kafka', 'topic' = 'iot.readings', 'format' = 'json',
        'scan.startup.mode' = 'earliest-offset', 'properties.group.id' = 'iot');

CREATE TABLE sensor_summary (
  window_start TIMESTAMP(3), window_end TIMESTAMP(3), site STRING, sensor_id STRING,
  readings BIGINT, avg_temperature DOUBLE, max_temperature DOUBLE, avg_humidity DOUBLE
) PARTITIONED BY (site) WITH ('connector' = 'filesystem', 'path' = 'out/lake/sensor_summary', 'format' = 'parquet');

INSERT INTO sensor_summary
SELECT window_start, window_end, site, sensor_id, COUNT(*), AVG(temperature), MAX(temperature), AVG(humidity)
FROM TABLE(TUMBLE(TABLE readings, DESCRIPTOR(event_time), INTERVAL '10' SECOND))
GROUP BY window_start, window_end, site, sensor_id;

CREATE VIEW overheating AS
SELECT sensor_id, site, temperature, humidity, event_time FROM readings WHERE temperature > 80.0;

CREATE TABLE iot_alerts_topic WITH ('connector' = 'kafka', 'topic' = 'iot.alerts', 'format' = 'json', 'key.format' = 'raw', 'key.fields' = 'sensor_id') AS
SELECT * FROM overheating;

CREATE TABLE iot_alerts WITH ('connector' = 'sqlite', 'path' = 'out/alerts.db', 'table-name' = 'iot_alerts') AS
SELECT * FROM overheating;
