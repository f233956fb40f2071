-- IoT anomaly alerts:
--   1. per sensor and minute, the average and highest temperature, kept when above 30 degrees;
--   2. sensors gone silent: a session of readings ends once a sensor has sent nothing for 2 minutes.
--   eddy gen sensors --count 1000000 --out data/sensors
--   eddy run examples/iot.sql --checkpoint ckpt/iot --bounded

CREATE TABLE readings (
  sensor_id   STRING,
  site        STRING,
  temperature DOUBLE,
  humidity    DOUBLE,
  event_time  TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time - INTERVAL '10' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'data/sensors', 'format' = 'json');

CREATE TABLE hot_sensors WITH ('connector' = 'filesystem', 'path' = 'out/hot_sensors', 'format' = 'json') AS
SELECT window_start, window_end, sensor_id, AVG(temperature) AS avg_temperature, MAX(temperature) AS max_temperature,
       COUNT(*) AS readings
FROM TABLE(TUMBLE(TABLE readings, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, sensor_id
HAVING MAX(temperature) > 30.0;

CREATE TABLE silent_sensors WITH ('connector' = 'filesystem', 'path' = 'out/silent_sensors', 'format' = 'json') AS
SELECT sensor_id, window_start AS active_from, window_end - INTERVAL '2' MINUTE AS last_reading, COUNT(*) AS readings
FROM TABLE(SESSION(TABLE readings, DESCRIPTOR(event_time), INTERVAL '2' MINUTES))
GROUP BY window_start, window_end, sensor_id;
