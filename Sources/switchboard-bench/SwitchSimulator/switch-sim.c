/*
 * switch-sim: the switch side of switchboard-bench's (b) and (c), in a process of its own.
 *
 * switchboard-bench builds this file at run time (`cc -O2`) and runs it as a child process, so that the switch's CPU
 * is not counted in the measured process and costs as little as a switch can: one thread, epoll, every frame built
 * from a template with only the call's UUIDs filled in.
 *
 *   switch-sim outbound PORT CALLS CONCURRENCY WARMUP TEMPLATES
 *       FreeSWITCH's `socket` application, CONCURRENCY calls at once to 127.0.0.1:PORT. Each call: the listener
 *       sends `connect` and gets the channel data; `myevents` (+ CHANNEL_PARK); `linger`; then per `sendmsg`
 *       (execute) +OK, CHANNEL_EXECUTE, CHANNEL_ANSWER for `answer` or CHANNEL_HANGUP for `hangup`,
 *       CHANNEL_EXECUTE_COMPLETE, and after `hangup` CHANNEL_HANGUP_COMPLETE and the linger disconnect notice;
 *       `exit` gets +OK and the goodbye notice, and the socket closes. A call succeeds when the listener ran
 *       `hangup` and said `exit` before the close.
 *       Runs WARMUP calls, prints "warm", waits for a line on stdin, runs CALLS calls, then prints
 *       "done CALLS FAILURES SECONDS CPU_SECONDS" (CPU: this process, user + system, during those calls) and, when
 *       a call failed, "failure TEXT" for the first.
 *       TEMPLATES holds records "NAME LENGTH\n" + LENGTH bytes + "\n": CONNECT (the whole connect reply, header
 *       block included) and one event-plain body per event name, without its blank line; the text UUIDMARKER
 *       stands for the call's UUID.
 *   switch-sim listen
 *       The other side: a bare outbound listener on 127.0.0.1 (port printed as "port N") that holds the same
 *       conversation as OutboundListener with the bench's answer-then-hangup handler (connect; myevents and linger
 *       in one write; answer; hangup; exit) and finds frames and the two facts it needs with byte scans. The floor
 *       for any listener on this machine. stdin as for `api`.
 *   switch-sim api-client PORT CALLS
 *       The other side of `api`: a blocking client that logs in and runs 2,000 warm-up and then CALLS sequential
 *       `api status`, and prints "done CALLS P50 P99 MAX CPU_SECONDS" (microseconds; CPU over the timed calls).
 *       The floor of (c) for any client on this machine.
 *   switch-sim api
 *       An inbound event socket on 127.0.0.1, port chosen by the system and printed as "port N": the auth/request
 *       greeting, `auth` (any password), `api status` (the text FreeSWITCH 1.10 gives, uptime included),
 *       `event` and `exit`. Reads stdin: a line "cpu" prints "cpu CPU_SECONDS"; the end of stdin ends the program.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MARKER "UUIDMARKER"
#define MAX_EVENTS 256

static void die(const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    fputs("switch-sim: ", stderr);
    vfprintf(stderr, format, arguments);
    fputs("\n", stderr);
    va_end(arguments);
    exit(2);
}

static double cpu_seconds(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

static double now_seconds(void) {
    struct timespec time;
    clock_gettime(CLOCK_MONOTONIC, &time);
    return (double)time.tv_sec + (double)time.tv_nsec / 1e9;
}

/* ---- growable byte buffers ---- */

struct buffer {
    char *bytes;
    size_t length;
    size_t capacity;
};

static void reserve(struct buffer *buffer, size_t more) {
    if (buffer->length + more <= buffer->capacity) return;
    size_t capacity = buffer->capacity ? buffer->capacity : 4096;
    while (capacity < buffer->length + more) capacity *= 2;
    buffer->bytes = realloc(buffer->bytes, capacity);
    if (!buffer->bytes) die("out of memory");
    buffer->capacity = capacity;
}

static void append(struct buffer *buffer, const char *bytes, size_t length) {
    reserve(buffer, length);
    memcpy(buffer->bytes + buffer->length, bytes, length);
    buffer->length += length;
}

static void append_text(struct buffer *buffer, const char *text) { append(buffer, text, strlen(text)); }

static void append_format(struct buffer *buffer, const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    int needed = vsnprintf(NULL, 0, format, arguments);
    va_end(arguments);
    reserve(buffer, (size_t)needed + 1);
    va_start(arguments, format);
    vsnprintf(buffer->bytes + buffer->length, (size_t)needed + 1, format, arguments);
    va_end(arguments);
    buffer->length += (size_t)needed;
}

/* Drops the first `count` bytes. */
static void consume(struct buffer *buffer, size_t count) {
    memmove(buffer->bytes, buffer->bytes + count, buffer->length - count);
    buffer->length -= count;
}

/* FreeSWITCH's URL encoding of header values in event-plain: everything but letters, digits and -._~ */
static void append_encoded(struct buffer *buffer, const char *text) {
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-'
            || *c == '.' || *c == '_' || *c == '~') {
            append(buffer, (const char *)c, 1);
        } else {
            char escape[3] = {'%', hex[*c >> 4], hex[*c & 15]};
            append(buffer, escape, 3);
        }
    }
}

/* ---- one command from the listener: a header block ended by a blank line, maybe a Content-Length body ---- */

/* Returns the length of the first complete command in `input`, or 0 when it is not all there yet. */
static size_t command_length(const struct buffer *input) {
    const char *end = memmem(input->bytes, input->length, "\n\n", 2);
    if (!end) return 0;
    size_t header_length = (size_t)(end - input->bytes) + 2;
    size_t body_length = 0;
    const char *line = input->bytes;
    while (line < end) {
        const char *next = memchr(line, '\n', (size_t)(end - line) + 1);
        if (strncasecmp(line, "content-length:", 15) == 0) body_length = strtoul(line + 15, NULL, 10);
        line = next + 1;
    }
    return input->length >= header_length + body_length ? header_length + body_length : 0;
}

/* Copies the value of header `name` (case-insensitive) of a command's header block into `value`. */
static void header_value(const char *command, size_t length, const char *name, char *value, size_t capacity) {
    size_t name_length = strlen(name);
    const char *line = command;
    const char *end = command + length;
    value[0] = 0;
    while (line < end) {
        const char *next = memchr(line, '\n', (size_t)(end - line));
        if (!next) next = end;
        if ((size_t)(next - line) > name_length + 1 && strncasecmp(line, name, name_length) == 0
            && line[name_length] == ':') {
            const char *start = line + name_length + 1;
            while (start < next && *start == ' ') start++;
            size_t value_length = (size_t)(next - start);
            if (value_length >= capacity) value_length = capacity - 1;
            memcpy(value, start, value_length);
            value[value_length] = 0;
            return;
        }
        line = next + 1;
    }
}

static int starts_with(const char *bytes, size_t length, const char *prefix) {
    size_t prefix_length = strlen(prefix);
    return length >= prefix_length && memcmp(bytes, prefix, prefix_length) == 0;
}


static void set_nodelay(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* ---- a connection: input, pending output ---- */

struct connection {
    int fd;
    int closing; /* close once the output is written */
    int want_out; /* EPOLLOUT registered */
    struct buffer in;
    struct buffer out;
    size_t written;
    /* outbound: the call */
    char uuid[40];
    int hung_up;
    int said_exit;
    /* inbound (api): logged in */
    int authenticated;
    /* listen: where the call is (enum step) */
    int step;
};

static int epoll_fd;

/* Writes what it can; registers for EPOLLOUT when the socket is full. Returns -1 when the peer is gone. */
static int flush_output(struct connection *connection) {
    while (connection->written < connection->out.length) {
        ssize_t count = write(connection->fd, connection->out.bytes + connection->written,
                              connection->out.length - connection->written);
        if (count < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) {
                if (!connection->want_out) {
                    struct epoll_event event = {.events = EPOLLIN | EPOLLOUT, .data.ptr = connection};
                    epoll_ctl(epoll_fd, EPOLL_CTL_MOD, connection->fd, &event);
                    connection->want_out = 1;
                }
                return 0;
            }
            return -1;
        }
        connection->written += (size_t)count;
    }
    connection->out.length = 0;
    connection->written = 0;
    if (connection->want_out) {
        struct epoll_event event = {.events = EPOLLIN, .data.ptr = connection};
        epoll_ctl(epoll_fd, EPOLL_CTL_MOD, connection->fd, &event);
        connection->want_out = 0;
    }
    return 0;
}

/* Reads what the socket has into the input buffer. Returns 0 while open, -1 once the peer closed or failed. */
static int read_input(struct connection *connection) {
    for (;;) {
        reserve(&connection->in, 16384);
        size_t space = connection->in.capacity - connection->in.length;
        ssize_t count = read(connection->fd, connection->in.bytes + connection->in.length, space);
        if (count > 0) {
            connection->in.length += (size_t)count;
            /* A short read took everything there was; epoll (level-triggered) reports anything that comes later. */
            if ((size_t)count < space) return 0;
            continue;
        }
        if (count == 0) return -1;
        if (errno == EINTR) continue;
        if (errno == EAGAIN) return 0;
        return -1;
    }
}

static void release(struct connection *connection) {
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, connection->fd, NULL);
    close(connection->fd);
    connection->fd = -1;
    connection->in.length = 0;
    connection->out.length = 0;
    connection->written = 0;
    connection->closing = 0;
    connection->want_out = 0;
}

static void reply(struct buffer *out, const char *text) {
    append_text(out, "Content-Type: command/reply\nReply-Text: ");
    append_text(out, text);
    append_text(out, "\n\n");
}

static const char goodbye[] = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n";

static void goodbye_notice(struct buffer *out) {
    append_format(out, "Content-Type: text/disconnect-notice\nContent-Length: %zu\n\n%s", sizeof goodbye - 1, goodbye);
}

/* ---- outbound: templates ---- */

struct template {
    char name[64];
    /* parts[0] UUID parts[1] UUID … parts[count - 1] */
    char **parts;
    size_t *lengths;
    size_t count;
    size_t fixed_length;
};

static struct template templates[16];
static size_t template_count;

static void load_templates(const char *path) {
    FILE *file = fopen(path, "rb");
    if (!file) die("cannot open %s", path);
    char name[64];
    size_t length;
    while (fscanf(file, "%63s %zu", name, &length) == 2) {
        if (fgetc(file) != '\n') die("%s: a record header must end with a line feed", path);
        char *text = malloc(length + 1);
        if (!text || fread(text, 1, length, file) != length) die("%s: record %s is cut short", path, name);
        text[length] = 0;
        fgetc(file); /* the line feed after the record */
        if (template_count == sizeof templates / sizeof templates[0]) die("too many templates");
        struct template *template = &templates[template_count++];
        snprintf(template->name, sizeof template->name, "%s", name);
        size_t capacity = 8;
        template->parts = malloc(capacity * sizeof(char *));
        template->lengths = malloc(capacity * sizeof(size_t));
        const char *start = text;
        for (;;) {
            const char *marker = memmem(start, (size_t)(text + length - start), MARKER, strlen(MARKER));
            const char *end = marker ? marker : text + length;
            if (template->count == capacity) {
                capacity *= 2;
                template->parts = realloc(template->parts, capacity * sizeof(char *));
                template->lengths = realloc(template->lengths, capacity * sizeof(size_t));
            }
            template->parts[template->count] = (char *)start;
            template->lengths[template->count] = (size_t)(end - start);
            template->fixed_length += (size_t)(end - start);
            template->count++;
            if (!marker) break;
            start = marker + strlen(MARKER);
        }
    }
    fclose(file);
}

static const struct template *template_named(const char *name) {
    for (size_t index = 0; index < template_count; index++) {
        if (strcmp(templates[index].name, name) == 0) return &templates[index];
    }
    die("no template %s", name);
    return NULL;
}

static void append_template(struct buffer *out, const struct template *template, const char *uuid) {
    for (size_t index = 0; index < template->count; index++) {
        if (index > 0) append_text(out, uuid);
        append(out, template->parts[index], template->lengths[index]);
    }
}

/* A text/event-plain frame: the template's header lines, `extra` (encoded lines), the blank line. */
static void append_event(struct buffer *out, const char *name, const char *uuid, const char *extra) {
    const struct template *template = template_named(name);
    size_t length = template->fixed_length + (template->count - 1) * strlen(uuid) + strlen(extra) + 1;
    append_format(out, "Content-Length: %zu\nContent-Type: text/event-plain\n\n", length);
    append_template(out, template, uuid);
    append_text(out, extra);
    append_text(out, "\n");
}

/* ---- outbound: calls ---- */

static uint64_t random_state;

static uint64_t next_random(void) {
    random_state ^= random_state << 13;
    random_state ^= random_state >> 7;
    random_state ^= random_state << 17;
    return random_state;
}

static void random_uuid(char *uuid) {
    uint64_t high = next_random(), low = next_random();
    snprintf(uuid, 37, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(high >> 32), (unsigned)(high >> 16) & 0xffff,
             (unsigned)high & 0xfff, (unsigned)((low >> 48) & 0x3fff) | 0x8000,
             (unsigned long long)(low & 0xffffffffffffULL));
}

struct run {
    struct sockaddr_in address;
    long to_start; /* calls not started yet */
    long running;
    long failures;
    char first_failure[256];
};

static void fail_call(struct run *run, struct connection *call, const char *why) {
    if (run->failures++ == 0) snprintf(run->first_failure, sizeof run->first_failure, "call %s: %s", call->uuid, why);
}

static void start_call(struct run *run, struct connection *call) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) die("socket: %s", strerror(errno));
    set_nodelay(fd);
    if (connect(fd, (struct sockaddr *)&run->address, sizeof run->address) < 0 && errno != EINPROGRESS) {
        die("connect: %s", strerror(errno));
    }
    call->fd = fd;
    call->hung_up = 0;
    call->said_exit = 0;
    random_uuid(call->uuid);
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = call};
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event);
    run->to_start--;
    run->running++;
}

/* `sendmsg` with `call-command: execute`: +OK, CHANNEL_EXECUTE, the application's effect, its completion. */
static void execute(struct connection *call, const char *command, size_t length) {
    char name[128], argument[512], application_uuid[128];
    header_value(command, length, "execute-app-name", name, sizeof name);
    header_value(command, length, "execute-app-arg", argument, sizeof argument);
    header_value(command, length, "Event-UUID", application_uuid, sizeof application_uuid);
    struct buffer identity = {0};
    append_text(&identity, "Application: ");
    append_text(&identity, name);
    append_text(&identity, "\nApplication-Data: ");
    append_encoded(&identity, argument);
    append_text(&identity, "\nApplication-UUID: ");
    append_text(&identity, application_uuid);
    append_text(&identity, "\n");
    append(&identity, "", 1);
    char cause[600];
    snprintf(cause, sizeof cause, "Hangup-Cause: %s\n", argument[0] ? argument : "NORMAL_CLEARING");
    int hangup = strcmp(name, "hangup") == 0;

    struct buffer *out = &call->out;
    reply(out, "+OK");
    append_event(out, "CHANNEL_EXECUTE", call->uuid, identity.bytes);
    if (strcmp(name, "answer") == 0) append_event(out, "CHANNEL_ANSWER", call->uuid, "");
    if (hangup) {
        call->hung_up = 1;
        append_event(out, "CHANNEL_HANGUP", call->uuid, cause);
    }
    identity.length--; /* the terminating zero */
    append_text(&identity, "Application-Response: _none_\n");
    append(&identity, "", 1);
    append_event(out, "CHANNEL_EXECUTE_COMPLETE", call->uuid, identity.bytes);
    if (hangup) {
        append_event(out, "CHANNEL_HANGUP_COMPLETE", call->uuid, cause);
        append_format(out,
                      "Content-Type: text/disconnect-notice\nControlled-Session-UUID: %s\n"
                      "Content-Disposition: linger\nChannel-Name: loopback/switchboard-test\nLinger-Time: -1\n"
                      "Content-Length: 0\n\n",
                      call->uuid);
    }
    free(identity.bytes);
}

/* Answers one command of the listener. */
static void respond_outbound(struct connection *call, const char *command, size_t length) {
    struct buffer *out = &call->out;
    if (starts_with(command, length, "sendmsg")) {
        execute(call, command, length);
    } else if (starts_with(command, length, "connect")) {
        append_template(out, template_named("CONNECT"), call->uuid);
    } else if (starts_with(command, length, "myevents")) {
        reply(out, "+OK Events Enabled");
        append_event(out, "CHANNEL_PARK", call->uuid, "");
    } else if (starts_with(command, length, "linger")) {
        reply(out, "+OK will linger");
    } else if (starts_with(command, length, "exit")) {
        call->said_exit = 1;
        reply(out, "+OK bye");
        goodbye_notice(out);
        call->closing = 1;
    } else {
        reply(out, "-ERR command not found");
    }
}

/* A call's socket is readable (or hung up). Returns 1 when the call is over. */
static int serve_call(struct run *run, struct connection *call, uint32_t events) {
    int gone = read_input(call) < 0 || (events & (EPOLLERR | EPOLLHUP));
    size_t length;
    while (!call->closing && (length = command_length(&call->in)) > 0) {
        respond_outbound(call, call->in.bytes, length);
        consume(&call->in, length);
    }
    if (flush_output(call) < 0) gone = 1;
    if (call->closing && call->out.length == 0) gone = 1;
    if (!gone) return 0;
    if (!call->hung_up) {
        fail_call(run, call, "the listener closed before it hung up");
    } else if (!call->said_exit) {
        fail_call(run, call, "the listener closed without 'exit'");
    }
    release(call);
    run->running--;
    return 1;
}

/* Runs `calls` calls, `concurrency` at once. */
static void run_calls(struct run *run, struct connection *slots, long concurrency, long calls) {
    run->to_start = calls;
    run->running = 0;
    for (long index = 0; index < concurrency && run->to_start > 0; index++) start_call(run, &slots[index]);
    struct epoll_event events[MAX_EVENTS];
    while (run->running > 0) {
        int count = epoll_wait(epoll_fd, events, MAX_EVENTS, -1);
        if (count < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait: %s", strerror(errno));
        }
        for (int index = 0; index < count; index++) {
            struct connection *call = events[index].data.ptr;
            if (call->fd < 0) continue;
            if (events[index].events & EPOLLOUT && !(events[index].events & EPOLLIN)) {
                if (flush_output(call) < 0 || (call->closing && call->out.length == 0)) {
                    serve_call(run, call, EPOLLHUP);
                    if (run->to_start > 0) start_call(run, call);
                }
                continue;
            }
            if (serve_call(run, call, events[index].events) && run->to_start > 0) start_call(run, call);
        }
    }
}

static int run_outbound(int argc, char **argv) {
    if (argc != 7) die("usage: switch-sim outbound PORT CALLS CONCURRENCY WARMUP TEMPLATES");
    int port = atoi(argv[2]);
    long calls = atol(argv[3]);
    long concurrency = atol(argv[4]);
    long warm_up = atol(argv[5]);
    load_templates(argv[6]);
    if (concurrency < 1 || calls < 1) die("CALLS and CONCURRENCY must be positive");
    random_state = (uint64_t)now_seconds() * 0x9E3779B97F4A7C15ULL ^ (uint64_t)getpid();
    if (!random_state) random_state = 1;

    struct run run = {0};
    run.address.sin_family = AF_INET;
    run.address.sin_port = htons((uint16_t)port);
    run.address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct connection *slots = calloc((size_t)concurrency, sizeof *slots);
    for (long index = 0; index < concurrency; index++) slots[index].fd = -1;
    epoll_fd = epoll_create1(0);

    if (warm_up > 0) run_calls(&run, slots, concurrency, warm_up);
    printf("warm %ld\n", run.failures);
    fflush(stdout);
    char line[64];
    if (!fgets(line, sizeof line, stdin)) return 0; /* the bench gave up */
    run.failures = 0;
    run.first_failure[0] = 0;

    double cpu_before = cpu_seconds(), start = now_seconds();
    run_calls(&run, slots, concurrency, calls);
    double seconds = now_seconds() - start, cpu = cpu_seconds() - cpu_before;
    printf("done %ld %ld %.6f %.6f\n", calls - run.failures, run.failures, seconds, cpu);
    if (run.failures) printf("failure %s\n", run.first_failure);
    fflush(stdout);
    return 0;
}

/* ---- api: an inbound event socket ---- */

static double started;

/* `api status` as FreeSWITCH 1.10 answers it (mod_commands' status_function), with this process's uptime. */
static void append_status(struct buffer *out) {
    double up = now_seconds() - started;
    long long micros = (long long)(up * 1e6);
    long long seconds = micros / 1000000;
    char body[1024];
    int length = snprintf(
        body, sizeof body,
        "UP 0 years, 0 days, %lld hours, %lld minutes, %lld seconds, %lld milliseconds, %lld microseconds\n"
        "FreeSWITCH (Version 1.10.12-release  64bit) is ready\n"
        "255 session(s) since startup\n"
        "0 session(s) - peak 80, last 5min 80 \n"
        "0 session(s) per Sec out of max 200, peak 80, last 5min 80 \n"
        "2000 session(s) max\n"
        "min idle cpu 0.00/91.00\n"
        "Current Stack Size/Max 240K/8192K\n",
        seconds / 3600, seconds / 60 % 60, seconds % 60, micros / 1000 % 1000, micros % 1000);
    append_format(out, "Content-Type: api/response\nContent-Length: %d\n\n", length);
    append(out, body, (size_t)length);
}

static void respond_inbound(struct connection *connection, const char *command, size_t length) {
    struct buffer *out = &connection->out;
    if (starts_with(command, length, "auth ")) {
        connection->authenticated = 1;
        reply(out, "+OK accepted");
    } else if (!connection->authenticated) {
        reply(out, "-ERR command not found");
    } else if (starts_with(command, length, "api status\n")) {
        append_status(out);
    } else if (starts_with(command, length, "api ")) {
        const char *error = "-ERR Command not found!\n";
        append_format(out, "Content-Type: api/response\nContent-Length: %zu\n\n%s", strlen(error), error);
    } else if (starts_with(command, length, "event ")) {
        reply(out, "+OK event listener enabled plain");
    } else if (starts_with(command, length, "exit")) {
        reply(out, "+OK bye");
        goodbye_notice(out);
        connection->closing = 1;
    } else {
        reply(out, "-ERR command not found");
    }
}

static int run_api(void) {
    started = now_seconds();
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(listener, (struct sockaddr *)&address, sizeof address) < 0) die("bind: %s", strerror(errno));
    if (listen(listener, 64) < 0) die("listen: %s", strerror(errno));
    socklen_t size = sizeof address;
    getsockname(listener, (struct sockaddr *)&address, &size);
    printf("port %d\n", ntohs(address.sin_port));
    fflush(stdout);

    epoll_fd = epoll_create1(0);
    struct connection listening = {.fd = listener}, control = {.fd = STDIN_FILENO};
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = &listening};
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listener, &event);
    event.data.ptr = &control;
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, STDIN_FILENO, &event);

    struct epoll_event events[64];
    for (;;) {
        int count = epoll_wait(epoll_fd, events, 64, -1);
        if (count < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait: %s", strerror(errno));
        }
        for (int index = 0; index < count; index++) {
            struct connection *connection = events[index].data.ptr;
            if (connection == &listening) {
                int fd;
                while ((fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    set_nodelay(fd);
                    struct connection *client = calloc(1, sizeof *client);
                    client->fd = fd;
                    struct epoll_event client_event = {.events = EPOLLIN, .data.ptr = client};
                    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &client_event);
                    append_text(&client->out, "Content-Type: auth/request\n\n");
                    if (flush_output(client) < 0) {
                        release(client);
                        free(client->in.bytes);
                        free(client->out.bytes);
                        free(client);
                    }
                }
                continue;
            }
            if (connection == &control) {
                char line[64];
                ssize_t length = read(STDIN_FILENO, line, sizeof line - 1);
                if (length <= 0) return 0;
                line[length] = 0;
                if (strncmp(line, "cpu", 3) == 0) {
                    printf("cpu %.6f\n", cpu_seconds());
                    fflush(stdout);
                }
                continue;
            }
            int gone = read_input(connection) < 0 || (events[index].events & (EPOLLERR | EPOLLHUP));
            size_t length;
            while (!connection->closing && (length = command_length(&connection->in)) > 0) {
                respond_inbound(connection, connection->in.bytes, length);
                consume(&connection->in, length);
            }
            if (flush_output(connection) < 0) gone = 1;
            if (connection->closing && connection->out.length == 0) gone = 1;
            if (gone) {
                release(connection);
                free(connection->in.bytes);
                free(connection->out.bytes);
                free(connection);
            }
        }
    }
}

/* ---- listen: the listener side of (b) as bare C, the floor for any listener ---- */

enum step { CONNECTING, SUBSCRIBING, LINGERING, ANSWERING, HANGING_UP, WAITING_FOR_NOTICE, EXITING };

/* The value of header `name` in the block [start, end), or NULL; `length` gets its length. */
static const char *find_value(const char *start, const char *end, const char *name, size_t *length) {
    size_t name_length = strlen(name);
    const char *line = start;
    while (line < end) {
        const char *next = memchr(line, '\n', (size_t)(end - line));
        if (!next) next = end;
        if ((size_t)(next - line) >= name_length && memcmp(line, name, name_length) == 0) {
            *length = (size_t)(next - line) - name_length;
            return line + name_length;
        }
        line = next + 1;
    }
    return NULL;
}

static int value_is(const char *start, const char *end, const char *name, const char *expected) {
    size_t length;
    const char *value = find_value(start, end, name, &length);
    return value && length == strlen(expected) && memcmp(value, expected, length) == 0;
}

static void send_execute(struct connection *connection, const char *application, const char *argument) {
    char uuid[40];
    random_uuid(uuid);
    append_format(&connection->out,
                  "sendmsg\ncall-command: execute\nexecute-app-name: %s\nexecute-app-arg: %s\nevent-lock: true\n"
                  "Event-UUID: %s\n\n",
                  application, argument, uuid);
}

/* One frame from the switch: advances the call's steps. */
static void advance(struct connection *connection, const char *headers, const char *headers_end, const char *body,
                    const char *body_end) {
    int reply = value_is(headers, headers_end, "Content-Type: ", "command/reply");
    int notice = value_is(headers, headers_end, "Content-Type: ", "text/disconnect-notice");
    int complete = value_is(headers, headers_end, "Content-Type: ", "text/event-plain")
        && value_is(body, body_end, "Event-Name: ", "CHANNEL_EXECUTE_COMPLETE");
    switch (connection->step) {
    case CONNECTING:
        if (reply) {
            connection->step = SUBSCRIBING;
            append_text(&connection->out, "myevents\n\nlinger\n\n");
        }
        break;
    case SUBSCRIBING:
        if (reply) connection->step = LINGERING;
        break;
    case LINGERING:
        if (reply) {
            connection->step = ANSWERING;
            send_execute(connection, "answer", "");
        }
        break;
    case ANSWERING:
        if (complete) {
            connection->step = HANGING_UP;
            send_execute(connection, "hangup", "NORMAL_CLEARING");
        }
        break;
    case HANGING_UP:
    case WAITING_FOR_NOTICE:
        if (complete) connection->step = WAITING_FOR_NOTICE;
        if (notice) {
            connection->step = EXITING;
            append_text(&connection->out, "exit\n\n");
        }
        break;
    case EXITING:
        if (notice) connection->closing = 1;
        break;
    }
}

/* Takes every complete frame out of the input. */
static void listener_frames(struct connection *connection) {
    for (;;) {
        const char *start = connection->in.bytes;
        const char *end = memmem(start, connection->in.length, "\n\n", 2);
        if (!end) return;
        size_t length = 0;
        const char *value = find_value(start, end, "Content-Length: ", &length);
        size_t body_length = value ? strtoul(value, NULL, 10) : 0;
        size_t frame_length = (size_t)(end - start) + 2 + body_length;
        if (connection->in.length < frame_length) return;
        advance(connection, start, end + 1, end + 2, end + 2 + body_length);
        consume(&connection->in, frame_length);
        if (connection->closing) return;
    }
}

static int run_listen(void) {
    random_state = (uint64_t)now_seconds() * 0x9E3779B97F4A7C15ULL ^ (uint64_t)getpid();
    if (!random_state) random_state = 1;
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(listener, (struct sockaddr *)&address, sizeof address) < 0) die("bind: %s", strerror(errno));
    if (listen(listener, 256) < 0) die("listen: %s", strerror(errno));
    socklen_t size = sizeof address;
    getsockname(listener, (struct sockaddr *)&address, &size);
    printf("port %d\n", ntohs(address.sin_port));
    fflush(stdout);

    epoll_fd = epoll_create1(0);
    struct connection listening = {.fd = listener}, control = {.fd = STDIN_FILENO};
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = &listening};
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listener, &event);
    event.data.ptr = &control;
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, STDIN_FILENO, &event);

    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int count = epoll_wait(epoll_fd, events, MAX_EVENTS, -1);
        if (count < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait: %s", strerror(errno));
        }
        for (int index = 0; index < count; index++) {
            struct connection *connection = events[index].data.ptr;
            if (connection == &listening) {
                int fd;
                while ((fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    set_nodelay(fd);
                    struct connection *call = calloc(1, sizeof *call);
                    call->fd = fd;
                    call->step = CONNECTING;
                    struct epoll_event call_event = {.events = EPOLLIN, .data.ptr = call};
                    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &call_event);
                    append_text(&call->out, "connect\n\n");
                    flush_output(call);
                }
                continue;
            }
            if (connection == &control) {
                char line[64];
                ssize_t length = read(STDIN_FILENO, line, sizeof line - 1);
                if (length <= 0) return 0;
                line[length] = 0;
                if (strncmp(line, "cpu", 3) == 0) {
                    printf("cpu %.6f\n", cpu_seconds());
                    fflush(stdout);
                }
                continue;
            }
            int gone = read_input(connection) < 0 || (events[index].events & (EPOLLERR | EPOLLHUP));
            listener_frames(connection);
            if (flush_output(connection) < 0 || connection->closing) gone = 1;
            if (gone) {
                release(connection);
                free(connection->in.bytes);
                free(connection->out.bytes);
                free(connection);
            }
        }
    }
}

/* ---- api-client: blocking `api status` round trips, the floor of (c) ---- */

/* Reads one frame (header block and Content-Length body) into `in`; returns its length, 0 when the peer closed. */
static size_t read_frame(int fd, struct buffer *in) {
    for (;;) {
        const char *end = in->length ? memmem(in->bytes, in->length, "\n\n", 2) : NULL;
        if (end) {
            size_t length = 0;
            const char *value = find_value(in->bytes, end, "Content-Length: ", &length);
            size_t frame_length = (size_t)(end - in->bytes) + 2 + (value ? strtoul(value, NULL, 10) : 0);
            if (in->length >= frame_length) return frame_length;
        }
        reserve(in, 16384);
        ssize_t count = read(fd, in->bytes + in->length, in->capacity - in->length);
        if (count <= 0) return 0;
        in->length += (size_t)count;
    }
}

static int compare_longs(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static int run_api_client(int argc, char **argv) {
    if (argc != 4) die("usage: switch-sim api-client PORT CALLS");
    int port = atoi(argv[2]);
    long calls = atol(argv[3]);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    set_nodelay(fd);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&address, sizeof address) < 0) die("connect: %s", strerror(errno));
    struct buffer in = {0};
    size_t length = read_frame(fd, &in); /* auth/request */
    consume(&in, length);
    const char auth[] = "auth ClueCon\n\n", status[] = "api status\n\n";
    if (write(fd, auth, sizeof auth - 1) < 0) die("write: %s", strerror(errno));
    length = read_frame(fd, &in);
    consume(&in, length);
    long warm_up = calls < 2000 ? calls : 2000;
    long *samples = malloc((size_t)calls * sizeof *samples);
    double cpu_before = 0;
    for (long index = -warm_up; index < calls; index++) {
        if (index == 0) cpu_before = cpu_seconds();
        struct timespec start, end;
        clock_gettime(CLOCK_MONOTONIC, &start);
        if (write(fd, status, sizeof status - 1) < 0) die("write: %s", strerror(errno));
        length = read_frame(fd, &in);
        if (!length) die("the server closed");
        clock_gettime(CLOCK_MONOTONIC, &end);
        if (!memmem(in.bytes, length, "\n\nUP ", 5)) die("unexpected reply");
        consume(&in, length);
        if (index >= 0) samples[index] = (end.tv_sec - start.tv_sec) * 1000000000L + (end.tv_nsec - start.tv_nsec);
    }
    double cpu = cpu_seconds() - cpu_before;
    qsort(samples, (size_t)calls, sizeof *samples, compare_longs);
    long p50 = samples[(calls * 50 + 99) / 100 - 1], p99 = samples[(calls * 99 + 99) / 100 - 1];
    printf("done %ld %.3f %.3f %.3f %.6f\n", calls, p50 / 1000.0, p99 / 1000.0, samples[calls - 1] / 1000.0, cpu);
    fflush(stdout);
    close(fd);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "outbound") == 0) return run_outbound(argc, argv);
    if (argc == 2 && strcmp(argv[1], "api") == 0) return run_api();
    if (argc == 2 && strcmp(argv[1], "listen") == 0) return run_listen();
    if (argc >= 2 && strcmp(argv[1], "api-client") == 0) return run_api_client(argc, argv);
    die("usage: switch-sim outbound PORT CALLS CONCURRENCY WARMUP TEMPLATES | api | listen | api-client PORT CALLS");
    return 2;
}
