/*
 * vdi-init: PID 1 of the vdi-sidecar container (see README.md beside this file).
 *
 * Starts dbus-session, waits for its bus, starts hook-shim, then runs the servers listed in
 * the plan file hook-shim writes after OnDefineDomain. Restarts children that die (with
 * backoff), reaps orphans, prefixes every line a child prints with its name, and on
 * SIGTERM/SIGINT or hook-shim's exit 0 (KubeVirt's Shutdown) stops everything in reverse
 * order and exits 0. Plain C and libc only, one thread, one poll() loop: it has to stay a
 * few hundred KiB beside a VM whose sidecar may get 64 MB in all.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CHILDREN 16
#define MAX_STREAMS (2 * MAX_CHILDREN + 8)
#define NAME_MAX_LEN 32
/* Longer lines are passed on in pieces of this size, each with the prefix. */
#define LINE_BUF 8192
#define PLAN_MAX (64 * 1024)
#define PLAN_POLL_S 0.25
#define BUS_POLL_S 0.1
#define BACKOFF_MIN_S 0.25
#define BACKOFF_MAX_S 8.0
/* A child that ran this long is healthy again: its next restart is quick. */
#define HEALTHY_AFTER_S 30.0

enum role { ROLE_SERVER, ROLE_HOOK, ROLE_BUS }; /* also the stop order */
enum phase { PH_BUS_WAIT, PH_RUNNING, PH_STOPPING, PH_SWEEP, PH_DONE };

struct child {
    int used;
    enum role role;
    char name[NAME_MAX_LEN];
    char **argv;      /* heap, NULL-terminated */
    char **next_argv; /* plan changed while running: start this once it has stopped */
    pid_t pid;        /* 0: not running */
    double started, restart_at, kill_at; /* 0: not set */
    double backoff;
    int stopping; /* we sent SIGTERM */
    int retire;   /* gone from the plan: forget it once stopped */
};

/* The fds live apart from the buffers, so marking every slot free touches no buffer page. */
static int stream_fds[MAX_STREAMS];

struct stream {
    int out; /* 1 or 2: where its lines go */
    char name[NAME_MAX_LEN];
    size_t len;
    char buf[LINE_BUF];
};

static struct child children[MAX_CHILDREN];
static struct stream streams[MAX_STREAMS];
static int sigpipe_fds[2] = {-1, -1};
static enum phase phase = PH_BUS_WAIT;
static double grace_s = 10.0;
static double sweep_deadline;
static int sweep_termed;

static const char *bus_path = "/var/run/kubevirt-hooks/vdi/bus";
static const char *plan_path = "/var/run/kubevirt-hooks/vdi/plan";
static const char *allow_uids[16];
static int n_allow_uids;
static char **hook_args; /* from the command line; default "serve" */
static int n_hook_args;

/* What the plan file looked like when last read, to notice a change cheaply. */
static struct {
    int exists;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} plan_seen;
static double next_plan_check;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Writes all of iov, whatever the pipe takes per call; drops output nobody reads (EPIPE). */
static void write_all(int fd, struct iovec *iov, int n) {
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) {
                struct pollfd p = {fd, POLLOUT, 0};
                poll(&p, 1, 100);
                continue;
            }
            return;
        }
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
}

/* One whole output line "[name] text\n" in a single writev. */
static void emit_line(int fd, const char *name, const char *text, size_t len) {
    struct iovec iov[5] = {
        {"[", 1}, {(void *)name, strlen(name)}, {"] ", 2}, {(void *)text, len}, {"\n", 1},
    };
    write_all(fd, iov, 5);
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof text) n = sizeof text - 1;
    emit_line(2, "vdi-init", text, (size_t)n);
}

static void on_signal(int sig) {
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    (void)!write(sigpipe_fds[1], &b, 1);
    errno = saved;
}

static void describe_status(int status, char *out, size_t size) {
    if (WIFEXITED(status)) {
        snprintf(out, size, "exited with code %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        snprintf(out, size, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    } else {
        snprintf(out, size, "ended (status 0x%x)", status);
    }
}

static void free_argv(char **argv) {
    if (!argv) return;
    for (char **a = argv; *a; a++) free(*a);
    free(argv);
}

static char **copy_argv(char *const *src, int n) {
    char **argv = calloc((size_t)n + 1, sizeof *argv);
    if (!argv) return NULL;
    for (int i = 0; i < n; i++) {
        if (!(argv[i] = strdup(src[i]))) {
            free_argv(argv);
            return NULL;
        }
    }
    return argv;
}

static int argv_equal(char **a, char **b) {
    for (; *a && *b; a++, b++)
        if (strcmp(*a, *b) != 0) return 0;
    return *a == NULL && *b == NULL;
}

/* ---- output of the children ---------------------------------------------------------- */

static int stream_fd(struct stream *s) { return stream_fds[s - streams]; }

static void stream_flush_lines(struct stream *s, int at_eof) {
    size_t start = 0;
    for (size_t i = 0; i < s->len; i++) {
        if (s->buf[i] == '\n') {
            emit_line(s->out, s->name, s->buf + start, i - start);
            start = i + 1;
        }
    }
    if (start > 0) {
        memmove(s->buf, s->buf + start, s->len - start);
        s->len -= start;
    }
    /* A full buffer without a newline: pass the piece on rather than stall the child. */
    if (s->len == sizeof s->buf || (at_eof && s->len > 0)) {
        emit_line(s->out, s->name, s->buf, s->len);
        s->len = 0;
    }
}

static void stream_close(struct stream *s) {
    stream_flush_lines(s, 1);
    close(stream_fd(s));
    stream_fds[s - streams] = -1;
}

static void stream_read(struct stream *s) {
    for (;;) {
        ssize_t r = read(stream_fd(s), s->buf + s->len, sizeof s->buf - s->len);
        if (r > 0) {
            s->len += (size_t)r;
            stream_flush_lines(s, 0);
            continue;
        }
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && errno == EAGAIN) return;
        stream_close(s); /* EOF: every writer (the child and whatever it left) is gone */
        return;
    }
}

static int stream_add(int fd, int out, const char *name) {
    for (int i = 0; i < MAX_STREAMS; i++) {
        if (stream_fds[i] < 0) {
            stream_fds[i] = fd;
            streams[i].out = out;
            streams[i].len = 0;
            snprintf(streams[i].name, sizeof streams[i].name, "%s", name);
            return 0;
        }
    }
    return -1;
}

/* ---- children ------------------------------------------------------------------------ */

static struct child *child_new(enum role role, const char *name, char **argv) {
    for (int i = 0; i < MAX_CHILDREN; i++) {
        struct child *c = &children[i];
        if (c->used) continue;
        memset(c, 0, sizeof *c);
        c->used = 1;
        c->role = role;
        snprintf(c->name, sizeof c->name, "%s", name);
        c->argv = argv;
        c->backoff = BACKOFF_MIN_S;
        return c;
    }
    return NULL;
}

static void child_free(struct child *c) {
    free_argv(c->argv);
    free_argv(c->next_argv);
    memset(c, 0, sizeof *c);
}

static void schedule_restart(struct child *c, double now) {
    double delay = c->backoff;
    c->restart_at = now + delay;
    c->backoff = delay * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : delay * 2;
}

static void child_start(struct child *c) {
    double now = now_s();
    int out[2] = {-1, -1}, err[2] = {-1, -1};
    c->restart_at = 0;
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
        say("cannot start %s: pipe: %s", c->name, strerror(errno));
        goto fail;
    }
    /* No handler of ours may run in the child before exec: it would write to our signal pipe. */
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    pid_t pid = fork();
    if (pid != 0) sigprocmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) {
        say("cannot start %s: fork: %s", c->name, strerror(errno));
        goto fail;
    }
    if (pid == 0) {
        /* Its own process group: whatever it leaves behind can be killed with it. */
        setpgid(0, 0);
        for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0 && devnull != 0) {
            dup2(devnull, 0);
            close(devnull);
        }
        dup2(out[1], 1);
        dup2(err[1], 2);
        execvp(c->argv[0], c->argv);
        dprintf(2, "cannot run %s: %s\n", c->argv[0], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid); /* also here, so a signal to the group never races the child's own call */
    close(out[1]);
    close(err[1]);
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    fcntl(err[0], F_SETFL, O_NONBLOCK);
    if (stream_add(out[0], 1, c->name) < 0) close(out[0]);
    if (stream_add(err[0], 2, c->name) < 0) close(err[0]);
    c->pid = pid;
    c->started = now;
    c->stopping = 0;
    c->kill_at = 0;
    {
        char line[900];
        size_t used = 0;
        line[0] = '\0';
        for (char **a = c->argv; *a && used < sizeof line - 1; a++) {
            int n = snprintf(line + used, sizeof line - used, "%s%s", a == c->argv ? "" : " ", *a);
            if (n < 0) break;
            used += (size_t)n;
        }
        say("started %s, pid %d: %s", c->name, (int)pid, line);
    }
    return;
fail:
    for (int i = 0; i < 2; i++) {
        if (out[i] >= 0) close(out[i]);
        if (err[i] >= 0) close(err[i]);
    }
    schedule_restart(c, now);
}

/* SIGTERM to the child itself (it stops its own helpers), SIGKILL to its group after the grace. */
static void child_stop(struct child *c) {
    if (!c->pid || c->stopping) return;
    c->stopping = 1;
    c->kill_at = now_s() + grace_s;
    kill(c->pid, SIGTERM);
}

static void begin_stop(const char *why);

static void child_exited(struct child *c, int status) {
    double now = now_s();
    double ran = now - c->started;
    char how[96];
    describe_status(status, how, sizeof how);
    /* Helpers it started and left behind (its process group) go with it, so a restart starts clean. */
    kill(-c->pid, SIGKILL);
    c->pid = 0;
    c->kill_at = 0;

    if (phase >= PH_STOPPING) {
        say("%s stopped (%s)", c->name, how);
        c->stopping = 0;
        return;
    }
    if (c->stopping) {
        c->stopping = 0;
        if (c->retire) {
            say("%s stopped (%s): no longer in the plan", c->name, how);
            child_free(c);
            return;
        }
        if (c->next_argv) {
            free_argv(c->argv);
            c->argv = c->next_argv;
            c->next_argv = NULL;
        }
        say("%s stopped (%s): starting it with its new arguments", c->name, how);
        c->backoff = BACKOFF_MIN_S;
        child_start(c);
        return;
    }
    if (c->role == ROLE_HOOK && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        say("hook-shim exited with code 0 (KubeVirt's Shutdown: the VM is done)");
        begin_stop("the VM is done");
        return;
    }
    if (ran >= HEALTHY_AFTER_S) c->backoff = BACKOFF_MIN_S;
    schedule_restart(c, now);
    say("%s %s after %.1f s; restarting in %.2f s", c->name, how, ran, c->restart_at - now);
}

/* Waits for every child that ended: ours are restarted or noted, adopted orphans just reaped. */
static void reap(void) {
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0) {
            if (pid < 0 && errno == EINTR) continue;
            return;
        }
        struct child *mine = NULL;
        for (int i = 0; i < MAX_CHILDREN; i++)
            if (children[i].used && children[i].pid == pid) mine = &children[i];
        if (mine) {
            child_exited(mine, status);
        } else {
            char how[96];
            describe_status(status, how, sizeof how);
            say("reaped orphan pid %d (%s)", (int)pid, how);
        }
    }
}

/* ---- the plan ------------------------------------------------------------------------ */

struct plan_entry {
    char name[NAME_MAX_LEN];
    char **argv;
};

static int valid_name(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n >= NAME_MAX_LEN) return 0;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.') return 0;
    return strcmp(s, "dbus-session") != 0 && strcmp(s, "hook-shim") != 0 && strcmp(s, "vdi-init") != 0;
}

/* Parses "NAME<TAB>ARG0<TAB>ARG1…" lines; bad lines are logged and skipped. Returns the count. */
static int plan_parse(char *text, struct plan_entry *entries, int max) {
    int n = 0, lineno = 0;
    for (char *line = text, *next; line && *line; line = next) {
        lineno++;
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        if (line[0] == '\0' || line[0] == '#') continue;
        char *fields[256];
        int nf = 0;
        for (char *p = line;; ) {
            if (nf == 256) break;
            fields[nf++] = p;
            char *tab = strchr(p, '\t');
            if (!tab) break;
            *tab = '\0';
            p = tab + 1;
        }
        if (nf < 2 || fields[1][0] == '\0') {
            say("plan %s line %d: no command; ignored", plan_path, lineno);
            continue;
        }
        if (!valid_name(fields[0])) {
            say("plan %s line %d: bad name \"%s\"; ignored", plan_path, lineno, fields[0]);
            continue;
        }
        int dup = 0;
        for (int i = 0; i < n; i++) dup |= strcmp(entries[i].name, fields[0]) == 0;
        if (dup || n == max) {
            say("plan %s line %d: %s; ignored", plan_path, lineno, dup ? "name given twice" : "too many servers");
            continue;
        }
        entries[n].argv = copy_argv(fields + 1, nf - 1);
        if (!entries[n].argv) continue;
        snprintf(entries[n].name, sizeof entries[n].name, "%s", fields[0]);
        n++;
    }
    return n;
}

static struct child *find_server(const char *name) {
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (children[i].used && children[i].role == ROLE_SERVER && strcmp(children[i].name, name) == 0) return &children[i];
    return NULL;
}

/* Makes the running servers match the plan: start new ones, restart changed ones, stop removed ones. */
static void plan_apply(struct plan_entry *entries, int n) {
    for (int i = 0; i < MAX_CHILDREN; i++) {
        struct child *c = &children[i];
        if (!c->used || c->role != ROLE_SERVER) continue;
        int wanted = 0;
        for (int j = 0; j < n; j++) wanted |= strcmp(entries[j].name, c->name) == 0;
        if (wanted) continue;
        if (c->pid) {
            say("%s is no longer in the plan: stopping it", c->name);
            c->retire = 1;
            child_stop(c);
        } else {
            child_free(c);
        }
    }
    for (int j = 0; j < n; j++) {
        struct child *c = find_server(entries[j].name);
        char **argv = entries[j].argv;
        entries[j].argv = NULL;
        if (!c) {
            if (!(c = child_new(ROLE_SERVER, entries[j].name, argv))) {
                say("too many children: %s not started", entries[j].name);
                free_argv(argv);
                continue;
            }
            child_start(c);
            continue;
        }
        c->retire = 0;
        char **current = c->next_argv ? c->next_argv : c->argv;
        if (argv_equal(current, argv)) {
            free_argv(argv);
            continue;
        }
        if (c->pid) {
            say("%s has new arguments in the plan: restarting it", c->name);
            free_argv(c->next_argv);
            c->next_argv = argv;
            child_stop(c);
        } else {
            free_argv(c->argv);
            c->argv = argv;
            c->backoff = BACKOFF_MIN_S;
            child_start(c);
        }
    }
}

static void plan_check(void) {
    struct stat st;
    if (stat(plan_path, &st) < 0) {
        if (!plan_seen.exists) return;
        memset(&plan_seen, 0, sizeof plan_seen);
        say("plan %s is gone: stopping the servers", plan_path);
        plan_apply(NULL, 0);
        return;
    }
    if (plan_seen.exists && plan_seen.dev == st.st_dev && plan_seen.ino == st.st_ino && plan_seen.size == st.st_size &&
        plan_seen.mtime.tv_sec == st.st_mtim.tv_sec && plan_seen.mtime.tv_nsec == st.st_mtim.tv_nsec)
        return;
    int fd = open(plan_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return; /* replaced between stat and open: next round */
    static char text[PLAN_MAX + 1];
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, text + len, PLAN_MAX - len);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        len += (size_t)r;
        if (len == PLAN_MAX) break;
    }
    close(fd);
    text[len] = '\0';
    plan_seen.exists = 1;
    plan_seen.dev = st.st_dev;
    plan_seen.ino = st.st_ino;
    plan_seen.size = st.st_size;
    plan_seen.mtime = st.st_mtim;
    struct plan_entry entries[MAX_CHILDREN - 2];
    int n = plan_parse(text, entries, MAX_CHILDREN - 2);
    say("plan %s: %d server%s", plan_path, n, n == 1 ? "" : "s");
    plan_apply(entries, n);
    for (int j = 0; j < n; j++) free_argv(entries[j].argv);
}

/* ---- start-up and shutdown ----------------------------------------------------------- */

static int bus_ready(void) {
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(bus_path) >= sizeof addr.sun_path) return 0;
    strcpy(addr.sun_path, bus_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    /* Connecting, not just stat(): a socket file left by an earlier daemon refuses. */
    int ok = connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0;
    close(fd);
    return ok;
}

static void start_hook(void) {
    int n = n_hook_args > 0 ? n_hook_args : 1;
    char **argv = calloc((size_t)n + 6, sizeof *argv);
    char address[PATH_MAX + 16];
    snprintf(address, sizeof address, "unix:path=%s", bus_path);
    if (!argv) return;
    int k = 0;
    argv[k++] = strdup("hook-shim");
    if (n_hook_args > 0)
        for (int i = 0; i < n_hook_args; i++) argv[k++] = strdup(hook_args[i]);
    else
        argv[k++] = strdup("serve");
    argv[k++] = strdup("--plan-out");
    argv[k++] = strdup(plan_path);
    argv[k++] = strdup("--plan-dbus-address");
    argv[k++] = strdup(address);
    struct child *c = child_new(ROLE_HOOK, "hook-shim", argv);
    if (c) child_start(c);
}

static void begin_stop(const char *why) {
    if (phase >= PH_STOPPING) return;
    say("stopping everything (%s)", why);
    phase = PH_STOPPING;
    for (int i = 0; i < MAX_CHILDREN; i++) {
        children[i].restart_at = 0;
        free_argv(children[i].next_argv);
        children[i].next_argv = NULL;
    }
}

/* Stops one tier at a time: servers, then hook-shim, then the bus. */
static void advance_stop(void) {
    for (int role = ROLE_SERVER; role <= ROLE_BUS; role++) {
        int running = 0;
        for (int i = 0; i < MAX_CHILDREN; i++) {
            struct child *c = &children[i];
            if (!c->used || (int)c->role != role || !c->pid) continue;
            running = 1;
            child_stop(c);
        }
        if (running) return;
    }
    phase = PH_SWEEP;
    sweep_deadline = now_s() + grace_s;
}

/*
 * Processes adopted by this init (orphans of orphans) that still run after our children
 * stopped: SIGTERM first, SIGKILL at the deadline. Returns how many are left.
 */
static int sweep_adopted(int sig) {
    DIR *d = opendir("/proc");
    if (!d) return 0;
    int left = 0;
    pid_t self = getpid();
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0])) continue;
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        ssize_t r = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (r <= 0) continue;
        buf[r] = '\0';
        /* "pid (comm) state ppid …": comm may hold anything, so parse from its last ')'. */
        char *rp = strrchr(buf, ')');
        char state;
        int ppid;
        if (!rp || sscanf(rp + 1, " %c %d", &state, &ppid) != 2 || ppid != self) continue;
        if (state == 'Z') continue; /* reaped on the next SIGCHLD */
        left++;
        if (sig) kill((pid_t)atoi(e->d_name), sig);
    }
    closedir(d);
    return left;
}

/* ---- main ---------------------------------------------------------------------------- */

static void usage(FILE *to) {
    fputs("usage: vdi-init [--bus PATH] [--plan FILE] [--allow-uid UID]... [--grace SECONDS] [--] [HOOK-SHIM-ARGS...]\n"
          "PID 1 of the vdi-sidecar container: runs dbus-session (bus at PATH, default\n"
          "/var/run/kubevirt-hooks/vdi/bus), then hook-shim HOOK-SHIM-ARGS (default: serve) with\n"
          "--plan-out FILE (default /var/run/kubevirt-hooks/vdi/plan), then the servers listed in FILE.\n"
          "Programs are looked up on PATH. --allow-uid goes to dbus-session. --grace: seconds between\n"
          "SIGTERM and SIGKILL when stopping a child (default 10). See README.md.\n",
          to);
}

int main(int argc, char **argv) {
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (strncmp(a, "--", 2) != 0) break; /* the first word of hook-shim's arguments */
        if (i + 1 >= argc) {
            fprintf(stderr, "vdi-init: %s needs a value\n", a);
            usage(stderr);
            return 2;
        }
        const char *v = argv[++i];
        if (strcmp(a, "--bus") == 0) {
            bus_path = v;
        } else if (strcmp(a, "--plan") == 0) {
            plan_path = v;
        } else if (strcmp(a, "--allow-uid") == 0 && n_allow_uids < 16) {
            allow_uids[n_allow_uids++] = v;
        } else if (strcmp(a, "--grace") == 0) {
            char *end;
            grace_s = strtod(v, &end);
            if (*end || !(grace_s >= 0)) {
                fprintf(stderr, "vdi-init: bad --grace %s\n", v);
                return 2;
            }
        } else {
            fprintf(stderr, "vdi-init: unknown option %s\n", a);
            usage(stderr);
            return 2;
        }
    }
    hook_args = argv + i;
    n_hook_args = argc - i;
    if (bus_path[0] != '/' || plan_path[0] != '/') {
        fprintf(stderr, "vdi-init: --bus and --plan take absolute paths\n");
        return 2;
    }

    for (int k = 0; k < MAX_STREAMS; k++) stream_fds[k] = -1;
    if (pipe2(sigpipe_fds, O_CLOEXEC | O_NONBLOCK) < 0) {
        perror("vdi-init: pipe");
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* No terminal to hang up on in a container; the default action would end PID 1 abruptly. */
    signal(SIGHUP, SIG_IGN);
    /* Outside a PID namespace, orphans of our tree still come to us rather than to the host's init. */
    if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) say("cannot become a subreaper: %s", strerror(errno));

    /* dbus-daemon needs the bus's directory; hook-shim makes the plan's itself. */
    {
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s", bus_path);
        for (char *p = dir + 1; (p = strchr(p, '/')); p++) {
            *p = '\0';
            mkdir(dir, 0755);
            *p = '/';
        }
    }

    {
        char **bus_argv = calloc(4 + 2 * (size_t)n_allow_uids, sizeof *bus_argv);
        if (!bus_argv) return 1;
        int k = 0;
        bus_argv[k++] = strdup("dbus-session");
        bus_argv[k++] = strdup("--socket");
        bus_argv[k++] = strdup(bus_path);
        for (int u = 0; u < n_allow_uids; u++) {
            bus_argv[k++] = strdup("--allow-uid");
            bus_argv[k++] = strdup(allow_uids[u]);
        }
        child_start(child_new(ROLE_BUS, "dbus-session", bus_argv));
    }
    say("waiting for the bus at %s", bus_path);

    int exit_code = 0;
    double next_bus_check = 0;
    while (phase != PH_DONE) {
        double now = now_s();
        double wake = now + 1.0;

        if (phase == PH_BUS_WAIT && now >= next_bus_check) {
            if (bus_ready()) {
                say("the bus is up");
                phase = PH_RUNNING;
                start_hook();
                next_plan_check = now;
            } else {
                next_bus_check = now + BUS_POLL_S;
            }
        }
        if (phase == PH_BUS_WAIT && next_bus_check < wake) wake = next_bus_check;
        if (phase == PH_RUNNING) {
            if (now >= next_plan_check) {
                plan_check();
                next_plan_check = now + PLAN_POLL_S;
            }
            if (next_plan_check < wake) wake = next_plan_check;
        }
        for (int k = 0; k < MAX_CHILDREN; k++) {
            struct child *c = &children[k];
            if (!c->used) continue;
            if (!c->pid && c->restart_at && phase < PH_STOPPING) {
                if (now >= c->restart_at) child_start(c);
                else if (c->restart_at < wake) wake = c->restart_at;
            }
            if (c->pid && c->kill_at) {
                if (now >= c->kill_at) {
                    say("%s did not stop within %.1f s: SIGKILL", c->name, grace_s);
                    kill(-c->pid, SIGKILL);
                    c->kill_at = 0;
                } else if (c->kill_at < wake) {
                    wake = c->kill_at;
                }
            }
        }
        if (phase == PH_STOPPING) advance_stop();
        if (phase == PH_SWEEP) {
            if (!sweep_termed) {
                sweep_termed = 1;
                int left = sweep_adopted(SIGTERM);
                if (left == 0) phase = PH_DONE;
                else say("%d adopted process%s still running: SIGTERM", left, left == 1 ? "" : "es");
            } else {
                int kill_now = now >= sweep_deadline && sweep_termed == 1;
                if (kill_now) sweep_termed = 2;
                int left = sweep_adopted(kill_now ? SIGKILL : 0);
                if (left == 0) phase = PH_DONE;
                else if (kill_now) say("%d adopted process%s still running after %.1f s: SIGKILL", left, left == 1 ? "" : "es", grace_s);
            }
            if (now + 0.1 < wake) wake = now + 0.1;
        }
        if (phase == PH_DONE) break;

        struct pollfd fds[1 + MAX_STREAMS];
        struct stream *owners[1 + MAX_STREAMS];
        int nfds = 0;
        fds[nfds].fd = sigpipe_fds[0];
        fds[nfds].events = POLLIN;
        owners[nfds++] = NULL;
        for (int k = 0; k < MAX_STREAMS; k++) {
            if (stream_fds[k] < 0) continue;
            fds[nfds].fd = stream_fds[k];
            fds[nfds].events = POLLIN;
            owners[nfds++] = &streams[k];
        }
        double wait_s = wake - now_s();
        int timeout = wait_s <= 0 ? 0 : (int)(wait_s * 1000) + 1;
        int ready = poll(fds, (nfds_t)nfds, timeout);
        if (ready < 0 && errno != EINTR) {
            say("poll: %s", strerror(errno));
            exit_code = 1;
            break;
        }
        if (ready <= 0) continue;
        for (int k = 1; k < nfds; k++)
            if (fds[k].revents) stream_read(owners[k]);
        if (fds[0].revents) {
            unsigned char sigs[64];
            ssize_t r;
            int chld = 0;
            while ((r = read(sigpipe_fds[0], sigs, sizeof sigs)) > 0) {
                for (ssize_t k = 0; k < r; k++) {
                    if (sigs[k] == SIGCHLD) {
                        chld = 1;
                    } else if (phase >= PH_STOPPING) {
                        /* Asked again while stopping: no more patience. */
                        say("%s again: killing what is left", strsignal(sigs[k]));
                        for (int c = 0; c < MAX_CHILDREN; c++)
                            if (children[c].used && children[c].pid) children[c].kill_at = now_s();
                        sweep_deadline = now_s();
                    } else {
                        begin_stop(strsignal(sigs[k]));
                    }
                }
            }
            if (chld) reap();
        }
    }
    /* Output the children wrote before they ended. */
    for (int k = 0; k < MAX_STREAMS; k++) {
        if (stream_fds[k] < 0) continue;
        stream_read(&streams[k]);
        if (stream_fds[k] >= 0) stream_close(&streams[k]);
    }
    reap();
    say("stopped, exit code %d", exit_code);
    return exit_code;
}
