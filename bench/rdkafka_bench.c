/*
 * rdkafka_bench: produce and consume throughput against a Kafka-compatible broker, over librdkafka.
 * Built and driven by scripts/bench-broker.sh (`make bench-broker`); not part of the Swift package.
 *
 *   rdkafka_bench create  BROKERS TOPIC PARTITIONS
 *   rdkafka_bench delete  BROKERS TOPIC
 *   rdkafka_bench produce BROKERS TOPIC SIZE COUNT ACKS [producers=N] [conf=value ...]
 *   rdkafka_bench consume BROKERS TOPIC[,TOPIC...] COUNT [conf=value ...]
 *   rdkafka_bench fsync   FILE CHUNK_BYTES TOTAL_BYTES
 *   rdkafka_bench latency BROKERS IN_TOPIC OUT_TOPIC RATE SECONDS OUT_FILE
 *
 * produce: COUNT records of SIZE value bytes (no key), spread round-robin over the topic's partitions by
 * N producer instances (default 1), each with its own thread and connection: librdkafka puts one partition
 * in each ProduceRequest and a broker answers a connection's requests in order, so several connections
 * are what lets acks=all requests share an fsync. Timed from the first produce call to the last delivery
 * report; any delivery error, or a record not delivered, fails the run.
 * consume: reads COUNT records from the beginning of every partition of the topics (legacy consumer, no
 * group, one queue), timed from the start of the first partition to the last record.
 * fsync: writes TOTAL_BYTES to FILE in CHUNK_BYTES writes, each followed by fdatasync (what a log
 * that syncs every batch pays), and removes the file.
 * latency: produces RATE records/s for SECONDS to IN_TOPIC, each value {"id":N,"sent":MICROS} (wall clock),
 * after 200 warm-up records with negative ids, while a read_committed consumer (group, earliest) takes
 * OUT_TOPIC, where a pipeline copies them; writes "sent_us seen_us" per measured record to OUT_FILE
 * (bench/kafka_latency.py reads it). C rather than Python so that the clients take little of the CPU
 * the pipeline and the broker share, and nothing batches arrivals (confluent-kafka's consume(n, t)
 * waits for n records or t).
 * Each mode ends with one line: RESULT mode=... key=value ... (MB = 10^6 bytes of record values).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *fmt, const char *arg) {
    fprintf(stderr, "rdkafka_bench: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(1);
}

static void set(rd_kafka_conf_t *conf, const char *name, const char *value) {
    char err[512];
    if (rd_kafka_conf_set(conf, name, value, err, sizeof err) != RD_KAFKA_CONF_OK) die("%s", err);
}

/* Extra name=value arguments override the defaults. */
static void set_extra(rd_kafka_conf_t *conf, int argc, char **argv) {
    for (int i = 0; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) die("expected name=value, got %s", argv[i]);
        *eq = 0;
        set(conf, argv[i], eq + 1);
        *eq = '=';
    }
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    (void)rk;
    if (level <= 4) fprintf(stderr, "rdkafka %s: %s\n", fac, buf);
}

static rd_kafka_t *client(rd_kafka_type_t type, rd_kafka_conf_t *conf, const char *brokers) {
    char err[512];
    set(conf, "bootstrap.servers", brokers);
    set(conf, "client.id", "eddy-bench");
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
    if (!rk) die("%s", err);
    return rk;
}

static int partition_count(rd_kafka_t *rk, const char *topic) {
    for (int attempt = 0; attempt < 50; attempt++) {
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
        rd_kafka_topic_destroy(rkt);
        int n = 0;
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 && md->topics[0].err == 0)
            n = md->topics[0].partition_cnt;
        if (md) rd_kafka_metadata_destroy(md);
        if (n > 0) return n;
        usleep(100 * 1000);
    }
    die("no metadata for topic %s", topic);
    return 0;
}

/* ---- create ---- */

static int cmd_create(const char *brokers, const char *topic, int partitions) {
    rd_kafka_t *rk = client(RD_KAFKA_PRODUCER, rd_kafka_conf_new(), brokers);
    char err[512];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, 1, err, sizeof err);
    if (!nt) die("%s", err);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
    if (!ev) die("%s", "CreateTopics timed out");
    if (rd_kafka_event_error(ev)) die("CreateTopics: %s", rd_kafka_event_error_string(ev));
    const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
    size_t n;
    const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &n);
    for (size_t i = 0; i < n; i++) {
        rd_kafka_resp_err_t e = rd_kafka_topic_result_error(tr[i]);
        if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
            die("CreateTopics: %s", rd_kafka_err2str(e));
    }
    rd_kafka_event_destroy(ev);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    int got = partition_count(rk, topic);
    rd_kafka_destroy(rk);
    printf("RESULT mode=create topic=%s partitions=%d\n", topic, got);
    return got == partitions ? 0 : 1;
}

/* ---- delete ---- */

static int cmd_delete(const char *brokers, const char *topic) {
    rd_kafka_t *rk = client(RD_KAFKA_PRODUCER, rd_kafka_conf_new(), brokers);
    rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(topic);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_DeleteTopics(rk, &dt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 60000);
    if (!ev) die("%s", "DeleteTopics timed out");
    if (rd_kafka_event_error(ev)) die("DeleteTopics: %s", rd_kafka_event_error_string(ev));
    size_t n;
    const rd_kafka_topic_result_t **tr =
        rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
    for (size_t i = 0; i < n; i++)
        if (rd_kafka_topic_result_error(tr[i])) die("DeleteTopics: %s", rd_kafka_err2str(rd_kafka_topic_result_error(tr[i])));
    rd_kafka_event_destroy(ev);
    rd_kafka_DeleteTopic_destroy(dt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    printf("RESULT mode=delete topic=%s\n", topic);
    return 0;
}

/* ---- produce ---- */

/* One producer instance (its own connection), run on its own thread. */
struct producer {
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    int partitions;
    long count, size;
    const char *payload;
    long delivered, failed, queue_full;
    rd_kafka_resp_err_t first_error, flush_error;
    long outstanding;
    double last;
};

static double t_start;
static pthread_barrier_t start_line;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    struct producer *p = opaque;
    if (m->err) {
        if (!p->failed) p->first_error = m->err;
        p->failed++;
    } else {
        p->delivered++;
    }
    p->last = now_s();
}

static void *produce_thread(void *arg) {
    struct producer *p = arg;
    pthread_barrier_wait(&start_line);
    for (long i = 0; i < p->count; i++) {
        /* The payload is constant, so librdkafka may point at it instead of copying (flags 0). */
        while (rd_kafka_produce(p->rkt, (int32_t)(i % p->partitions), 0, (void *)p->payload, (size_t)p->size, NULL,
                                0, NULL) != 0) {
            rd_kafka_resp_err_t e = rd_kafka_last_error();
            if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) die("produce: %s", rd_kafka_err2str(e));
            p->queue_full++;
            rd_kafka_poll(p->rk, 1);
        }
        if ((i & 1023) == 0) rd_kafka_poll(p->rk, 0);
    }
    p->flush_error = rd_kafka_flush(p->rk, 120000);
    rd_kafka_poll(p->rk, 0);
    p->outstanding = rd_kafka_outq_len(p->rk);
    return NULL;
}

/* Extra arguments: producers=N (producer instances, each with its own connection and thread; default 1),
 * then librdkafka name=value settings. */
static int cmd_produce(const char *brokers, const char *topic, long size, long count, const char *acks,
                       int argc, char **argv) {
    int nproducers = 1;
    if (argc > 0 && !strncmp(argv[0], "producers=", 10)) nproducers = atoi(argv[0] + 10), argc--, argv++;
    if (nproducers < 1) die("%s", "producers must be at least 1");

    char *payload = malloc((size_t)size);
    for (long i = 0; i < size; i++) payload[i] = (char)('a' + (i * 7 + i / 26) % 26);

    struct producer *ps = calloc((size_t)nproducers, sizeof *ps);
    int partitions = 0;
    for (int n = 0; n < nproducers; n++) {
        struct producer *p = &ps[n];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        set(conf, "acks", acks);
        set(conf, "enable.idempotence", "false");
        set(conf, "compression.codec", "none");
        set(conf, "linger.ms", "5");
        set(conf, "batch.size", "1048576");
        set(conf, "message.max.bytes", "16777216");
        set(conf, "queue.buffering.max.messages", "2000000");
        set(conf, "queue.buffering.max.kbytes", "1048576");
        set(conf, "message.timeout.ms", "60000");
        set(conf, "socket.send.buffer.bytes", "4194304");
        set_extra(conf, argc, argv);
        rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
        rd_kafka_conf_set_opaque(conf, p);
        p->rk = client(RD_KAFKA_PRODUCER, conf, brokers);
        p->partitions = partitions = partition_count(p->rk, topic);
        p->rkt = rd_kafka_topic_new(p->rk, topic, NULL);
        p->count = count / nproducers + (n < count % nproducers ? 1 : 0);
        p->size = size;
        p->payload = payload;
    }

    pthread_barrier_init(&start_line, NULL, (unsigned)nproducers + 1);
    pthread_t *threads = calloc((size_t)nproducers, sizeof *threads);
    for (int n = 0; n < nproducers; n++) pthread_create(&threads[n], NULL, produce_thread, &ps[n]);
    double cpu0 = cpu_s();
    t_start = now_s();
    pthread_barrier_wait(&start_line);
    for (int n = 0; n < nproducers; n++) pthread_join(threads[n], NULL);
    double cpu1 = cpu_s();

    long delivered = 0, failed = 0, queue_full = 0, outstanding = 0;
    double last = t_start;
    int rc = 0;
    for (int n = 0; n < nproducers; n++) {
        struct producer *p = &ps[n];
        delivered += p->delivered, failed += p->failed, queue_full += p->queue_full, outstanding += p->outstanding;
        if (p->last > last) last = p->last;
        if (p->failed) {
            fprintf(stderr, "rdkafka_bench: producer %d: %ld delivery errors, first: %s\n", n, p->failed,
                    rd_kafka_err2str(p->first_error));
            rc = 1;
        }
        if (p->flush_error) {
            fprintf(stderr, "rdkafka_bench: producer %d: flush: %s\n", n, rd_kafka_err2str(p->flush_error));
            rc = 1;
        }
    }
    double secs = last - t_start;
    double mb = (double)delivered * (double)size / 1e6;
    printf("RESULT mode=produce topic=%s partitions=%d producers=%d size=%ld acks=%s records=%ld errors=%ld "
           "seconds=%.3f records_per_s=%.0f mb_per_s=%.2f queue_full_waits=%ld client_cpu_s=%.2f\n",
           topic, partitions, nproducers, size, acks, delivered, failed, secs, delivered / secs, mb / secs,
           queue_full, cpu1 - cpu0);
    if (outstanding || delivered != count) {
        fprintf(stderr, "rdkafka_bench: %ld outstanding, %ld of %ld delivered\n", outstanding, delivered, count);
        rc = 1;
    }
    for (int n = 0; n < nproducers; n++) {
        rd_kafka_topic_destroy(ps[n].rkt);
        rd_kafka_destroy(ps[n].rk);
    }
    free(threads);
    free(ps);
    free(payload);
    return rc;
}

/* ---- consume ---- */

/* TOPICS is one topic or several separated by commas; every partition of each is read into one queue. */
static int cmd_consume(const char *brokers, const char *topics, long count, int argc, char **argv) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "fetch.max.bytes", "52428800");
    set(conf, "queued.max.messages.kbytes", "262144");
    set(conf, "enable.partition.eof", "false");
    set(conf, "check.crcs", "false");
    set(conf, "socket.receive.buffer.bytes", "4194304");
    set_extra(conf, argc, argv);
    rd_kafka_t *rk = client(RD_KAFKA_CONSUMER, conf, brokers);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);

    enum { MAX_TOPICS = 16 };
    rd_kafka_topic_t *rkts[MAX_TOPICS];
    int nparts[MAX_TOPICS], ntopics = 0, partitions = 0;
    char *list = strdup(topics), *save = NULL;
    for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (ntopics == MAX_TOPICS) die("%s", "too many topics");
        nparts[ntopics] = partition_count(rk, t);
        partitions += nparts[ntopics];
        rkts[ntopics++] = rd_kafka_topic_new(rk, t, NULL);
    }

    double cpu0 = cpu_s(), t0 = now_s(), last = t0;
    for (int i = 0; i < ntopics; i++)
        for (int p = 0; p < nparts[i]; p++)
            if (rd_kafka_consume_start_queue(rkts[i], p, RD_KAFKA_OFFSET_BEGINNING, q) == -1)
                die("consume_start: %s", rd_kafka_err2str(rd_kafka_last_error()));

    enum { BATCH = 10000 };
    rd_kafka_message_t **msgs = malloc(sizeof *msgs * BATCH);
    long records = 0, errors = 0;
    uint64_t bytes = 0;
    int idle = 0;
    while (records < count) {
        ssize_t n = rd_kafka_consume_batch_queue(q, 1000, msgs, BATCH);
        if (n < 0) die("consume: %s", rd_kafka_err2str(rd_kafka_last_error()));
        if (n == 0) {
            if (++idle >= 30) break; /* 30 s without a record */
            continue;
        }
        idle = 0;
        for (ssize_t i = 0; i < n; i++) {
            if (msgs[i]->err) {
                if (!errors) fprintf(stderr, "rdkafka_bench: consume error: %s\n", rd_kafka_message_errstr(msgs[i]));
                errors++;
            } else {
                records++;
                bytes += msgs[i]->len;
            }
            rd_kafka_message_destroy(msgs[i]);
        }
        last = now_s();
    }
    double cpu1 = cpu_s();
    for (int i = 0; i < ntopics; i++)
        for (int p = 0; p < nparts[i]; p++) rd_kafka_consume_stop(rkts[i], p);
    double secs = last - t0;
    printf("RESULT mode=consume topics=%s partitions=%d records=%ld errors=%ld bytes=%" PRIu64
           " seconds=%.3f records_per_s=%.0f mb_per_s=%.2f client_cpu_s=%.2f\n",
           topics, partitions, records, errors, bytes, secs, records / secs, (double)bytes / 1e6 / secs, cpu1 - cpu0);
    free(msgs);
    free(list);
    rd_kafka_queue_destroy(q);
    for (int i = 0; i < ntopics; i++) rd_kafka_topic_destroy(rkts[i]);
    rd_kafka_destroy(rk);
    if (records < count || errors) {
        fprintf(stderr, "rdkafka_bench: read %ld of %ld records, %ld errors\n", records, count, errors);
        return 1;
    }
    return 0;
}

/* ---- fsync ---- */

static int cmd_fsync(const char *path, long chunk, long total) {
    char *buf = malloc((size_t)chunk);
    memset(buf, 'x', (size_t)chunk);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) die("open %s failed", path);
    double t0 = now_s();
    long written = 0, syncs = 0;
    while (written < total) {
        ssize_t n = write(fd, buf, (size_t)chunk);
        if (n != chunk) die("write to %s failed", path);
        if (fdatasync(fd) != 0) die("fdatasync of %s failed", path);
        written += n, syncs++;
    }
    double secs = now_s() - t0;
    close(fd);
    unlink(path);
    free(buf);
    printf("RESULT mode=fsync chunk=%ld bytes=%ld syncs=%ld seconds=%.3f mb_per_s=%.2f syncs_per_s=%.0f\n", chunk,
           written, syncs, secs, written / 1e6 / secs, syncs / secs);
    return 0;
}

/* ---- latency ---- */

static int64_t wall_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct seen_log {
    const char *brokers, *topic;
    long total;
    volatile long seen;
    int64_t *sent, *arrived;
    volatile int stop;
};

static void *latency_consumer(void *arg) {
    struct seen_log *log = arg;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "group.id", "eddy-bench-latency");
    set(conf, "auto.offset.reset", "earliest");
    set(conf, "isolation.level", "read_committed");
    set(conf, "fetch.wait.max.ms", "10");
    set(conf, "enable.auto.commit", "false");
    rd_kafka_t *rk = client(RD_KAFKA_CONSUMER, conf, log->brokers);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, log->topic, RD_KAFKA_PARTITION_UA);
    if (rd_kafka_subscribe(rk, topics)) die("%s", "subscribe failed");
    rd_kafka_topic_partition_list_destroy(topics);
    while (!log->stop && log->seen < log->total) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 10);
        if (!m) continue;
        int64_t now = wall_us();
        if (!m->err && m->payload) {
            char text[128];
            size_t n = m->len < sizeof text - 1 ? m->len : sizeof text - 1;
            memcpy(text, m->payload, n);
            text[n] = 0;
            const char *id = strstr(text, "\"id\":"), *sent = strstr(text, "\"sent\":");
            if (id && sent && atol(id + 5) >= 0) {
                log->sent[log->seen] = atoll(sent + 7);
                log->arrived[log->seen] = now;
                log->seen++;
            }
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return NULL;
}

static int cmd_latency(const char *brokers, const char *in, const char *out, long rate, double seconds, const char *path) {
    struct seen_log log = {.brokers = brokers, .topic = out, .total = (long)(rate * seconds)};
    log.sent = malloc(sizeof(int64_t) * log.total);
    log.arrived = malloc(sizeof(int64_t) * log.total);
    pthread_t consumer;
    pthread_create(&consumer, NULL, latency_consumer, &log);
    sleep(3); /* the pipeline and the consumer settle */
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "linger.ms", "1");
    set(conf, "acks", "all");
    rd_kafka_t *rk = client(RD_KAFKA_PRODUCER, conf, brokers);
    char value[128];
    for (int i = 0; i < 200; i++) { /* warm-up, not measured */
        int n = snprintf(value, sizeof value, "{\"id\":%d,\"sent\":%" PRId64 "}", -1 - i, wall_us());
        if (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(in), RD_KAFKA_V_VALUE(value, n), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END))
            die("%s", "produce failed");
        rd_kafka_flush(rk, 1000);
        usleep(10 * 1000);
    }
    double t0 = now_s();
    for (long i = 0; i < log.total; i++) {
        double due = t0 + (double)i / rate;
        double wait = due - now_s();
        if (wait > 0.0002) usleep((useconds_t)(wait * 1e6));
        int n = snprintf(value, sizeof value, "{\"id\":%ld,\"sent\":%" PRId64 "}", i, wall_us());
        while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(in), RD_KAFKA_V_VALUE(value, n), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(rk, 1);
        rd_kafka_poll(rk, 0);
    }
    double produced_s = now_s() - t0;
    rd_kafka_flush(rk, 30000);
    rd_kafka_destroy(rk);
    for (int waited = 0; log.seen < log.total && waited < 600; waited++) usleep(100 * 1000); /* at most 60 s */
    log.stop = 1;
    pthread_join(consumer, NULL);
    FILE *f = fopen(path, "w");
    if (!f) die("cannot write %s", path);
    for (long i = 0; i < log.seen; i++) fprintf(f, "%" PRId64 " %" PRId64 "\n", log.sent[i], log.arrived[i]);
    fclose(f);
    printf("RESULT mode=latency rate=%ld events=%ld seen=%ld produce_seconds=%.2f\n", rate, log.total, log.seen, produced_s);
    free(log.sent);
    free(log.arrived);
    return log.seen == log.total ? 0 : 1;
}

int main(int argc, char **argv) {
    const char *usage =
        "usage: rdkafka_bench create BROKERS TOPIC PARTITIONS\n"
        "       rdkafka_bench delete BROKERS TOPIC\n"
        "       rdkafka_bench produce BROKERS TOPIC SIZE COUNT ACKS [producers=N] [conf=value ...]\n"
        "       rdkafka_bench consume BROKERS TOPIC[,TOPIC...] COUNT [conf=value ...]\n"
        "       rdkafka_bench fsync FILE CHUNK_BYTES TOTAL_BYTES\n"
        "       rdkafka_bench latency BROKERS IN_TOPIC OUT_TOPIC RATE SECONDS OUT_FILE\n";
    if (argc >= 5 && !strcmp(argv[1], "create")) return cmd_create(argv[2], argv[3], atoi(argv[4]));
    if (argc >= 4 && !strcmp(argv[1], "delete")) return cmd_delete(argv[2], argv[3]);
    if (argc >= 7 && !strcmp(argv[1], "produce"))
        return cmd_produce(argv[2], argv[3], atol(argv[4]), atol(argv[5]), argv[6], argc - 7, argv + 7);
    if (argc >= 5 && !strcmp(argv[1], "consume")) return cmd_consume(argv[2], argv[3], atol(argv[4]), argc - 5, argv + 5);
    if (argc >= 5 && !strcmp(argv[1], "fsync")) return cmd_fsync(argv[2], atol(argv[3]), atol(argv[4]));
    if (argc >= 8 && !strcmp(argv[1], "latency")) return cmd_latency(argv[2], argv[3], argv[4], atol(argv[5]), atof(argv[6]), argv[7]);
    fputs(usage, stderr);
    return 2;
}
