// authgate-bench: measurements `make bench` (scripts/bench.sh) cannot take from outside.
//   core [--secs S] [--only verify]           in-process verify calls/s, JWT.verify alone, scrypt time (JSON)
//   hash [--runs N]                           one default-parameter scrypt hash, median/min ms (JSON)
//   tokens --db P --keys K --tenant D --email E --count N [--refresh]   N fresh sessions -> one token per line
//   ws-echo --port P --path PATH --conns C --secs S [--size B]          WebSocket echo load through nginx (JSON)
//   ws-upstream --socket PATH                 a minimal WebSocket upstream that accepts and idles
//   ws-idle --socket PATH --path PATH --count N [--pid PID] [--hold S]  N idle upgraded connections (JSON)
// Everything runs in nonisolated code outside main.swift (Swift 6 isolation checks on threads).
BenchMain.run(CommandLine.arguments)
