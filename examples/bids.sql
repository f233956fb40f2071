-- Nexmark-style: bids per auction in 10-second windows, with the highest price (the benchmark's Q_B).
--   eddy gen bids --count 1000000 --out data/bids
--   eddy run examples/bids.sql --checkpoint ckpt/bids --bounded

CREATE TABLE bids (
  auction   BIGINT,
  bidder    BIGINT,
  price     BIGINT,
  channel   STRING,
  date_time TIMESTAMP(3),
  WATERMARK FOR date_time AS date_time - INTERVAL '10' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'data/bids', 'format' = 'json');

CREATE TABLE auction_bids (
  window_start TIMESTAMP(3),
  window_end   TIMESTAMP(3),
  auction      BIGINT,
  bids         BIGINT,
  max_price    BIGINT
) WITH ('connector' = 'filesystem', 'path' = 'out/bids', 'format' = 'json');

INSERT INTO auction_bids
SELECT window_start, window_end, auction, COUNT(*) AS bids, MAX(price) AS max_price
FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(date_time), INTERVAL '10' SECOND))
GROUP BY window_start, window_end, auction;
