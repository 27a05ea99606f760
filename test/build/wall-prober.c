// A stand-in for kustomize that runs in the wall as code of a pull request would, were kustomize ever made to run
// any: it reports what it can reach. argv[1]: "reach HOST-FILE SANDBOX" (files, mounts, chroot, network) or
// "outlive" (a process left behind, in a session of its own); anything else exits 0 (the wall's probe).
// Nothing it tries does harm outside the wall either: it writes and unmounts only in the sandbox.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *outcome(int ok) { return ok ? "ok" : strerror(errno); }

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "outlive") == 0) {
    if (fork() == 0) {
      setsid();
      sleep(60);
    }
    sleep(60);
    return 0;
  }
  if (argc < 4 || strcmp(argv[1], "reach") != 0) return 0;
  const char *host = argv[2], *sandbox = argv[3];
  char written[4096];
  snprintf(written, sizeof written, "%s/written", sandbox);
  printf("uid %d\n", (int)getuid());
  printf("read %s: %s\n", host, outcome(open(host, O_RDONLY) >= 0));
  printf("read /proc/self/environ: %s\n", outcome(open("/proc/self/environ", O_RDONLY) >= 0));
  printf("inherited fd 200: %s\n", outcome(fcntl(200, F_GETFD) >= 0));
  printf("write the sandbox: %s\n", outcome(open(written, O_WRONLY | O_CREAT, 0644) >= 0));
  printf("unmount the sandbox: %s\n", outcome(umount2(sandbox, MNT_DETACH) == 0));
  printf("chroot: %s\n", outcome(chroot("/") == 0));
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in loopback = { .sin_family = AF_INET, .sin_port = htons(9) };
  inet_pton(AF_INET, "127.0.0.1", &loopback.sin_addr);
  printf("connect 127.0.0.1: %s\n", outcome(connect(s, (struct sockaddr *)&loopback, sizeof loopback) == 0));
  return 0;
}
