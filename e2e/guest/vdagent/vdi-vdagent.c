/*
 * vdi-vdagent: the smallest useful guest side of the SPICE vdagent protocol, for the e2e
 * test guest (busybox initramfs, no X, no D-Bus). It speaks to QEMU's `qemu-vdagent`
 * chardev through a virtio-serial port and shares one selection (the CLIPBOARD) as UTF-8
 * text with the host through files:
 *
 *   /tmp/clipboard-from-host   the last text the host offered (written whole: temp + rename)
 *   /tmp/clipboard-to-host     a text to offer the host; the agent takes it (unlinks it),
 *                              grabs the clipboard and answers the host's requests with it
 *                              (one it cannot read whole goes to …-to-host.rejected)
 *   /tmp/vdi-vdagent.state     `key value` lines: connected, serial, from-host (count), …
 *
 * Usage: vdi-vdagent PORT_DEVICE   (e.g. /dev/vport0p1, name com.redhat.spice.0)
 * Logs to stderr. Built static: gcc -static -O2 (see build-guest.sh).
 *
 * Wire format (spice-protocol spice/vd_agent.h, all integers little-endian, packed):
 *   chunk:   u32 port, u32 size, then `size` bytes of a message stream. A message may span
 *            chunks; QEMU wants the first chunk of a message to hold its whole header.
 *   message: u32 protocol (=1), u32 type, u64 opaque, u32 size, then `size` bytes of data.
 *   ANNOUNCE_CAPABILITIES data: u32 request, u32 caps[].
 *   With CLIPBOARD_SELECTION negotiated, GRAB/REQUEST/CLIPBOARD/RELEASE data start with
 *   u8 selection + 3 reserved bytes; with CLIPBOARD_GRAB_SERIAL, GRAB then carries a u32
 *   serial before its u32 type list. REQUEST: u32 type. CLIPBOARD: u32 type, then bytes.
 *
 * QEMU (ui/vdagent.c) accepts a guest grab whose serial is >= the last one it saw from the
 * guest (or handed out itself); every caps announcement it gets resets its serials and
 * tells the other clipboard peers to reset theirs (the D-Bus peer gets Register), and once
 * the agent is registered such a reset makes QEMU close the port on its side. So: announce
 * exactly once per open, keep serials increasing, reopen the port whenever it closes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* spice/vd_agent.h */
#define VDP_CLIENT_PORT 1
#define VD_AGENT_PROTOCOL 1
#define VD_AGENT_MAX_DATA_SIZE 2048

#define VD_AGENT_CLIPBOARD 4
#define VD_AGENT_ANNOUNCE_CAPABILITIES 6
#define VD_AGENT_CLIPBOARD_GRAB 7
#define VD_AGENT_CLIPBOARD_REQUEST 8
#define VD_AGENT_CLIPBOARD_RELEASE 9

#define VD_AGENT_CAP_CLIPBOARD_BY_DEMAND 5
#define VD_AGENT_CAP_CLIPBOARD_SELECTION 6
#define VD_AGENT_CAP_CLIPBOARD_GRAB_SERIAL 17

#define VD_AGENT_CLIPBOARD_NONE 0
#define VD_AGENT_CLIPBOARD_UTF8_TEXT 1

#define VD_AGENT_CLIPBOARD_SELECTION_CLIPBOARD 0

#define CHUNK_HEADER_SIZE 8
#define MESSAGE_HEADER_SIZE 20

/* Bigger messages from the host are refused (QEMU itself buffers at most 1 MiB). */
#define MAX_MESSAGE_SIZE (16u * 1024 * 1024)

#define FROM_HOST_PATH "/tmp/clipboard-from-host"
#define TO_HOST_PATH "/tmp/clipboard-to-host"
#define STATE_PATH "/tmp/vdi-vdagent.state"

static const uint32_t our_caps = (1u << VD_AGENT_CAP_CLIPBOARD_BY_DEMAND) |
                                 (1u << VD_AGENT_CAP_CLIPBOARD_SELECTION) |
                                 (1u << VD_AGENT_CAP_CLIPBOARD_GRAB_SERIAL);

struct buf {
    uint8_t *data;
    size_t len, cap;
};

static struct {
    const char *device;
    int fd;

    /* Incoming: bytes of the current chunk header, then how much of its payload is left. */
    uint8_t chunk_header[CHUNK_HEADER_SIZE];
    size_t chunk_header_len;
    uint32_t chunk_left;
    /* The message stream, chunk headers removed. */
    struct buf in;

    /* 0 until the host answered our announcement (QEMU has then registered us). */
    int connected;
    uint32_t host_caps;

    /* The text we offered, and whether the host still sees us as the clipboard owner. */
    struct buf offer;
    int own;
    /* Highest grab serial sent or seen; our next grab uses one more. */
    uint32_t serial;
    unsigned long from_host;
    unsigned long resets;
} agent = { .fd = -1 };

static void say(const char *fmt, ...)
{
    struct timespec ts;
    va_list ap;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    fprintf(stderr, "vdi-vdagent %ld.%03ld: ", (long)ts.tv_sec, ts.tv_nsec / 1000000);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int buf_reserve(struct buf *b, size_t more)
{
    size_t want = b->len + more;
    uint8_t *p;

    if (want <= b->cap) {
        return 0;
    }
    if (want < 4096) {
        want = 4096;
    }
    if (want < b->cap * 2) {
        want = b->cap * 2;
    }
    p = realloc(b->data, want);
    if (!p) {
        return -1;
    }
    b->data = p;
    b->cap = want;
    return 0;
}

static int buf_append(struct buf *b, const void *data, size_t len)
{
    if (buf_reserve(b, len) < 0) {
        return -1;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

static void buf_consume(struct buf *b, size_t len)
{
    memmove(b->data, b->data + len, b->len - len);
    b->len -= len;
}

static int have(uint32_t cap)
{
    uint32_t both = agent.host_caps & our_caps;

    return (both >> cap) & 1;
}

/* Writes a whole file under a temporary name, then renames it into place. */
static int write_file_atomic(const char *path, const void *data, size_t len)
{
    char tmp[256];
    const uint8_t *p = data;
    int fd;

    snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        say("cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            say("cannot write %s: %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    if (close(fd) < 0 || rename(tmp, path) < 0) {
        say("cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static void write_state(void)
{
    char text[512];
    int n;

    n = snprintf(text, sizeof(text),
                 "device %s\nconnected %d\nhost-caps 0x%08x\nown %d\nserial %u\nfrom-host %lu\nresets %lu\n",
                 agent.device, agent.connected, agent.host_caps, agent.own, agent.serial,
                 agent.from_host, agent.resets);
    write_file_atomic(STATE_PATH, text, (size_t)n);
}

/* Writes all of `len` bytes to the port; 0, or -1 when the port is gone or stuck. */
static int port_write(const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(agent.fd, p, len);

        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            struct pollfd pfd = { .fd = agent.fd, .events = POLLOUT };
            int r = poll(&pfd, 1, 5000);

            if (r < 0 && errno == EINTR) {
                continue;
            }
            if (r <= 0 || ((pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) && !(pfd.revents & POLLOUT))) {
                say("port not writable (poll %d, revents 0x%x)", r, r > 0 ? pfd.revents : 0);
                return -1;
            }
            continue;
        }
        say("write to port failed: %s", n < 0 ? strerror(errno) : "wrote nothing");
        return -1;
    }
    return 0;
}

/* Sends one message, split into chunks of at most VD_AGENT_MAX_DATA_SIZE bytes. */
static int send_msg(uint32_t type, const uint8_t *data, size_t size)
{
    size_t total = MESSAGE_HEADER_SIZE + size;
    uint8_t *msg = malloc(total);
    size_t off = 0;
    int ret = 0;

    if (!msg) {
        say("out of memory sending a %zu-byte message", total);
        return -1;
    }
    put_le32(msg, VD_AGENT_PROTOCOL);
    put_le32(msg + 4, type);
    memset(msg + 8, 0, 8); /* opaque */
    put_le32(msg + 16, (uint32_t)size);
    if (size) {
        memcpy(msg + MESSAGE_HEADER_SIZE, data, size);
    }
    while (off < total && ret == 0) {
        size_t n = total - off > VD_AGENT_MAX_DATA_SIZE ? VD_AGENT_MAX_DATA_SIZE : total - off;
        uint8_t header[CHUNK_HEADER_SIZE];

        put_le32(header, VDP_CLIENT_PORT);
        put_le32(header + 4, (uint32_t)n);
        ret = port_write(header, sizeof(header));
        if (ret == 0) {
            ret = port_write(msg + off, n);
        }
        off += n;
    }
    free(msg);
    return ret;
}

static int send_caps(int request)
{
    uint8_t data[8];

    put_le32(data, request ? 1 : 0);
    put_le32(data + 4, our_caps);
    say("announcing caps 0x%08x (request %d)", our_caps, request);
    return send_msg(VD_AGENT_ANNOUNCE_CAPABILITIES, data, sizeof(data));
}

/* Writes the selection prefix when negotiated; returns its length (0 or 4). */
static size_t put_selection(uint8_t *p, uint8_t selection)
{
    if (!have(VD_AGENT_CAP_CLIPBOARD_SELECTION)) {
        return 0;
    }
    p[0] = selection;
    p[1] = p[2] = p[3] = 0;
    return 4;
}

static int send_grab(void)
{
    uint8_t data[12];
    size_t n = put_selection(data, VD_AGENT_CLIPBOARD_SELECTION_CLIPBOARD);

    agent.serial++;
    if (have(VD_AGENT_CAP_CLIPBOARD_GRAB_SERIAL)) {
        put_le32(data + n, agent.serial);
        n += 4;
    }
    put_le32(data + n, VD_AGENT_CLIPBOARD_UTF8_TEXT);
    n += 4;
    say("grab (serial %u, %zu bytes of text)", agent.serial, agent.offer.len);
    return send_msg(VD_AGENT_CLIPBOARD_GRAB, data, n);
}

static int send_request(uint8_t selection)
{
    uint8_t data[8];
    size_t n = put_selection(data, selection);

    put_le32(data + n, VD_AGENT_CLIPBOARD_UTF8_TEXT);
    n += 4;
    say("request text of selection %u", selection);
    return send_msg(VD_AGENT_CLIPBOARD_REQUEST, data, n);
}

static int send_clipboard(uint8_t selection, uint32_t type, const uint8_t *text, size_t len)
{
    uint8_t *data = malloc(8 + len);
    size_t n;
    int ret;

    if (!data) {
        say("out of memory answering a request");
        return -1;
    }
    n = put_selection(data, selection);
    put_le32(data + n, type);
    n += 4;
    if (len) {
        memcpy(data + n, text, len);
    }
    say("send clipboard of selection %u: type %u, %zu bytes", selection, type, len);
    ret = send_msg(VD_AGENT_CLIPBOARD, data, n + len);
    free(data);
    return ret;
}

static void close_port(const char *why)
{
    if (agent.fd >= 0) {
        say("closing %s: %s", agent.device, why);
        close(agent.fd);
        agent.fd = -1;
    }
    agent.chunk_header_len = 0;
    agent.chunk_left = 0;
    agent.in.len = 0;
    agent.connected = 0;
    agent.host_caps = 0;
    /* QEMU drops the clipboard a disconnected agent owned. */
    agent.own = 0;
    agent.resets++;
    write_state();
}

static int open_port(void)
{
    agent.fd = open(agent.device, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (agent.fd < 0) {
        return -1;
    }
    say("opened %s", agent.device);
    /* One announcement per open: QEMU resets its serials on every one it gets. */
    if (send_caps(1) < 0) {
        close_port("cannot announce capabilities");
        return -1;
    }
    return 0;
}

static int handle_caps(const uint8_t *data, uint32_t size)
{
    uint32_t request;

    if (size < 8) {
        say("short capabilities message (%u bytes)", size);
        return 0;
    }
    request = get_le32(data);
    agent.host_caps = get_le32(data + 4);
    say("host caps 0x%08x (request %u)", agent.host_caps, request);
    /*
     * A request from the host is already answered by the announcement sent on open (QEMU
     * asks when the port opens); a second announcement would make QEMU reset the
     * connection. The host's reply to our request means QEMU has registered us as a
     * clipboard peer: from then on grabs go both ways.
     */
    if (!request && !agent.connected) {
        agent.connected = 1;
        write_state();
    }
    return 0;
}

static int handle_clipboard_msg(uint32_t type, const uint8_t *data, uint32_t size)
{
    uint8_t selection = VD_AGENT_CLIPBOARD_SELECTION_CLIPBOARD;

    if (have(VD_AGENT_CAP_CLIPBOARD_SELECTION)) {
        if (size < 4) {
            say("clipboard message %u without selection", type);
            return 0;
        }
        selection = data[0];
        data += 4;
        size -= 4;
    }

    switch (type) {
    case VD_AGENT_CLIPBOARD_GRAB: {
        uint32_t serial = 0;
        int text = 0;

        if (have(VD_AGENT_CAP_CLIPBOARD_GRAB_SERIAL)) {
            if (size < 4) {
                say("grab without serial");
                return 0;
            }
            serial = get_le32(data);
            data += 4;
            size -= 4;
            if (serial > agent.serial) {
                agent.serial = serial;
            }
        }
        for (; size >= 4; data += 4, size -= 4) {
            if (get_le32(data) == VD_AGENT_CLIPBOARD_UTF8_TEXT) {
                text = 1;
            }
        }
        say("host grabs selection %u (serial %u, text %d)", selection, serial, text);
        if (selection != VD_AGENT_CLIPBOARD_SELECTION_CLIPBOARD) {
            return 0;
        }
        agent.own = 0;
        write_state();
        return text ? send_request(selection) : 0;
    }
    case VD_AGENT_CLIPBOARD_REQUEST: {
        uint32_t want = size >= 4 ? get_le32(data) : VD_AGENT_CLIPBOARD_NONE;

        say("host requests selection %u, type %u", selection, want);
        if (selection == VD_AGENT_CLIPBOARD_SELECTION_CLIPBOARD && agent.own &&
            want == VD_AGENT_CLIPBOARD_UTF8_TEXT) {
            return send_clipboard(selection, VD_AGENT_CLIPBOARD_UTF8_TEXT, agent.offer.data, agent.offer.len);
        }
        return send_clipboard(selection, VD_AGENT_CLIPBOARD_NONE, NULL, 0);
    }
    case VD_AGENT_CLIPBOARD: {
        uint32_t got;

        if (size < 4) {
            say("clipboard data without type");
            return 0;
        }
        got = get_le32(data);
        say("host sends selection %u: type %u, %u bytes", selection, got, size - 4);
        if (selection == VD_AGENT_CLIPBOARD_SELECTION_CLIPBOARD && got == VD_AGENT_CLIPBOARD_UTF8_TEXT) {
            if (write_file_atomic(FROM_HOST_PATH, data + 4, size - 4) == 0) {
                agent.from_host++;
                write_state();
            }
        }
        return 0;
    }
    case VD_AGENT_CLIPBOARD_RELEASE:
        say("host releases selection %u", selection);
        return 0;
    }
    return 0;
}

static int handle_msg(uint32_t type, const uint8_t *data, uint32_t size)
{
    switch (type) {
    case VD_AGENT_ANNOUNCE_CAPABILITIES:
        return handle_caps(data, size);
    case VD_AGENT_CLIPBOARD_GRAB:
    case VD_AGENT_CLIPBOARD_REQUEST:
    case VD_AGENT_CLIPBOARD:
    case VD_AGENT_CLIPBOARD_RELEASE:
        return handle_clipboard_msg(type, data, size);
    default:
        say("ignoring message type %u (%u bytes)", type, size);
        return 0;
    }
}

/* Strips chunk headers off `len` bytes read from the port and handles whole messages. */
static int feed(const uint8_t *p, size_t len)
{
    while (len > 0) {
        if (agent.chunk_left == 0) {
            size_t n = CHUNK_HEADER_SIZE - agent.chunk_header_len;

            if (n > len) {
                n = len;
            }
            memcpy(agent.chunk_header + agent.chunk_header_len, p, n);
            agent.chunk_header_len += n;
            p += n;
            len -= n;
            if (agent.chunk_header_len < CHUNK_HEADER_SIZE) {
                break;
            }
            agent.chunk_header_len = 0;
            agent.chunk_left = get_le32(agent.chunk_header + 4);
            continue;
        }
        {
            size_t n = len < agent.chunk_left ? len : agent.chunk_left;

            if (buf_append(&agent.in, p, n) < 0) {
                say("out of memory reading from the port");
                return -1;
            }
            agent.chunk_left -= (uint32_t)n;
            p += n;
            len -= n;
        }
    }

    while (agent.in.len >= MESSAGE_HEADER_SIZE) {
        uint32_t protocol = get_le32(agent.in.data);
        uint32_t type = get_le32(agent.in.data + 4);
        uint32_t size = get_le32(agent.in.data + 16);

        if (protocol != VD_AGENT_PROTOCOL || size > MAX_MESSAGE_SIZE) {
            say("bad message header (protocol %u, type %u, size %u)", protocol, type, size);
            return -1;
        }
        if (agent.in.len < MESSAGE_HEADER_SIZE + (size_t)size) {
            break;
        }
        if (handle_msg(type, agent.in.data + MESSAGE_HEADER_SIZE, size) < 0) {
            return -1;
        }
        buf_consume(&agent.in, MESSAGE_HEADER_SIZE + (size_t)size);
    }
    return 0;
}

/* Takes a pending offer from TO_HOST_PATH and grabs the clipboard with it. */
static int check_offer(void)
{
    struct buf text = { 0 };
    uint8_t chunk[65536];
    int fd, ok = 1;

    if (agent.fd < 0 || !agent.connected) {
        return 0;
    }
    fd = open(TO_HOST_PATH, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            say("cannot read %s: %s", TO_HOST_PATH, strerror(errno));
            ok = 0;
            break;
        }
        if (n == 0) {
            break;
        }
        if (text.len + (size_t)n > MAX_MESSAGE_SIZE || buf_append(&text, chunk, (size_t)n) < 0) {
            say("%s too large, dropped", TO_HOST_PATH);
            ok = 0;
            break;
        }
    }
    close(fd);
    if (!ok) {
        /* Set aside, where vdi-clipboard-set looks: better than offering a cut text. */
        free(text.data);
        rename(TO_HOST_PATH, TO_HOST_PATH ".rejected");
        return 0;
    }
    free(agent.offer.data);
    agent.offer = text;
    agent.own = 1;
    if (send_grab() < 0) {
        close_port("cannot send grab");
        return -1;
    }
    /* The state says which serial the grab had before the offer file disappears. */
    write_state();
    unlink(TO_HOST_PATH);
    return 0;
}

int main(int argc, char **argv)
{
    uint8_t chunk[65536];

    if (argc != 2) {
        fprintf(stderr, "usage: vdi-vdagent PORT_DEVICE\n");
        return 2;
    }
    agent.device = argv[1];
    setvbuf(stderr, NULL, _IOLBF, 0);
    write_state();

    for (;;) {
        struct pollfd pfd;
        int r;

        if (agent.fd < 0 && open_port() < 0) {
            usleep(200 * 1000);
            continue;
        }

        check_offer();
        if (agent.fd < 0) {
            continue;
        }

        pfd.fd = agent.fd;
        pfd.events = POLLIN;
        pfd.revents = 0;
        r = poll(&pfd, 1, 100);
        if (r < 0 && errno != EINTR) {
            say("poll: %s", strerror(errno));
            return 1;
        }
        if (r <= 0) {
            continue;
        }
        if (pfd.revents & POLLIN) {
            ssize_t n = read(agent.fd, chunk, sizeof(chunk));

            if (n > 0) {
                if (feed(chunk, (size_t)n) < 0) {
                    close_port("protocol error");
                }
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                continue;
            }
            /* 0: the host closed its side (QEMU does so to reset serials). */
            close_port(n == 0 ? "host closed the port" : strerror(errno));
            usleep(200 * 1000);
            continue;
        }
        if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) {
            close_port("hang-up");
            usleep(200 * 1000);
        }
    }
}
