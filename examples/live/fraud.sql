-- Live card-fraud alerts (make demo): a card used 10 times or more, or for more than 9500.00, within
-- one minute (checked every 10 seconds) raises an alert. Alerts go to the topic
-- fraud.alerts (for other systems) and to SQLite (for people).
--   eddy gen transactions --live --rate 1000 --count 100000000 --bootstrap-server 127.0.0.1:9092 --topic card.transactions

CREATE TABLE transactions (
  txn_id     STRING,
  card_id    BIGINT,
  merchant   STRING,
  amount     DECIMAL(10, 2),
  country    STRING,
  event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND
) WITH ('connector' = 'kafka', 'topic' = 'card.transactions', 'format' = 'json',
        'scan.startup.mode' = 'earliest-offset', 'properties.group.id' = 'fraud');

CREATE VIEW suspicious AS
SELECT window_start, window_end, card_id, COUNT(*) AS transactions, SUM(amount) AS total
FROM TABLE(HOP(TABLE transactions, DESCRIPTOR(event_time), INTERVAL '10' SECOND, INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, card_id
HAVING COUNT(*) >= 10 OR SUM(amount) > 9500.00;

CREATE TABLE fraud_alerts_topic WITH ('connector' = 'kafka', 'topic' = 'fraud.alerts', 'format' = 'json', 'key.format' = 'json', 'key.fields' = 'card_id') AS
SELECT * FROM suspicious;

CREATE TABLE fraud_alerts WITH ('connector' = 'sqlite', 'path' = 'out/alerts.db', 'table-name' = 'fraud_alerts') AS
SELECT * FROM suspicious;

-- To post the alerts to a chat room or an incident tool too (at least once, retried with back-off):
-- CREATE TABLE fraud_alerts_hook WITH ('connector' = 'webhook', 'url' = 'https://hooks.example.com/fraud',
--                                      'headers.Authorization' = 'Bearer …') AS
-- SELECT * FROM suspicious;
