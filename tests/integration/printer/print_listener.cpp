// print_listener: a stand-in for a network receipt printer's raw port, for
// refpos-terminal's --printer tests (terminal_test.sh, part "printer").
//
//   print_listener MODE CONNECTIONS OUT_FILE
//
// Binds 127.0.0.1 on a free port, prints the port on stdout (one line,
// flushed: the test reads it instead of sleeping), then:
//
//   record       accepts CONNECTIONS connections one after the other, appends
//                every byte read from each (until the peer closes) to
//                OUT_FILE, and exits 0.
//   close        accepts CONNECTIONS connections and resets each at once
//                (SO_LINGER 0), as a printer that drops the job; exits 0.
//   stall        accepts CONNECTIONS connections and never reads from them,
//                as a printer out of paper; stays until killed.
//   closed-port  binds, prints the port, closes it and exits: a port where
//                nothing listens (connection refused).
//
// close and stall use the smallest receive buffer the kernel allows, so a
// receipt does not vanish into it: the sender must see the reset, or see
// its bytes unacknowledged. Every mode gives up after kSafetyTimeout so
// that a failing test cannot leave it behind.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>

namespace {

constexpr unsigned kSafetyTimeoutSeconds = 60;

int fail(const std::string& what) {
  std::fprintf(stderr, "print_listener: %s: %s\n", what.c_str(), std::strerror(errno));
  return 1;
}

int record(int listener, int connections, const char* out_path) {
  for (int i = 0; i < connections; ++i) {
    const int connection = ::accept(listener, nullptr, nullptr);
    if (connection < 0) {
      return fail("accept");
    }
    std::ofstream out(out_path, std::ios::binary | std::ios::app);
    char buffer[65536];
    while (true) {
      const ssize_t got = ::read(connection, buffer, sizeof buffer);
      if (got < 0 && errno == EINTR) {
        continue;
      }
      if (got < 0) {
        ::close(connection);
        return fail("read");
      }
      if (got == 0) {
        break;
      }
      out.write(buffer, got);
    }
    ::close(connection);
    out.close();
    if (!out) {
      return fail(std::string("write ") + out_path);
    }
  }
  return 0;
}

int reset_each(int listener, int connections) {
  for (int i = 0; i < connections; ++i) {
    const int connection = ::accept(listener, nullptr, nullptr);
    if (connection < 0) {
      return fail("accept");
    }
    const linger reset{1, 0};
    ::setsockopt(connection, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    ::close(connection);
  }
  return 0;
}

int stall(int listener, int connections) {
  for (int i = 0; i < connections; ++i) {
    if (::accept(listener, nullptr, nullptr) < 0) {
      return fail("accept");
    }
  }
  while (true) {
    ::pause();  // until the test kills it (or the safety alarm)
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr,
                 "usage: print_listener record|close|stall|closed-port CONNECTIONS OUT_FILE\n");
    return 2;
  }
  const std::string_view mode = argv[1];
  const int connections = std::atoi(argv[2]);
  ::alarm(kSafetyTimeoutSeconds);

  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0) {
    return fail("socket");
  }
  if (mode == "close" || mode == "stall") {
    const int smallest = 1;  // the kernel rounds up to its minimum
    ::setsockopt(listener, SOL_SOCKET, SO_RCVBUF, &smallest, sizeof smallest);
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return fail("bind");
  }
  if (mode != "closed-port" && ::listen(listener, 8) != 0) {
    return fail("listen");
  }
  std::printf("%u\n", static_cast<unsigned>(ntohs(address.sin_port)));
  std::fflush(stdout);

  if (mode == "closed-port") {
    ::close(listener);
    return 0;
  }
  if (mode == "record") {
    return record(listener, connections, argv[3]);
  }
  if (mode == "close") {
    return reset_each(listener, connections);
  }
  if (mode == "stall") {
    return stall(listener, connections);
  }
  std::fprintf(stderr, "print_listener: unknown mode %s\n", argv[1]);
  return 2;
}
