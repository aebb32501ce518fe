#!/usr/bin/env bash
# make fuzz: builds the libFuzzer targets of Tests/Fuzz/targets with swiftc
# (-sanitize=fuzzer,address) into .build-fuzz (never touching .build), then runs each for
# FUZZ_SECONDS (default 60) on a working copy of its seed corpus (Tests/Fuzz/corpus/<target>)
# and prints executions, corpus size, coverage (libFuzzer's edge count `cov:`) and crashes.
# A crash input is kept in .build-fuzz/artifacts/<target>/; copy it to
# Tests/Fuzz/regressions/<target>/ once fixed (make test replays that directory).
#   FUZZ_TARGETS="json jwt"   only these targets      FUZZ_BUILD_ONLY=1   build, do not run
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds="${FUZZ_SECONDS:-60}"
all_targets="json jwt credential query body fcgi_params fcgi_records ws_upgrade ws_frame http_door webauthn"
targets="${FUZZ_TARGETS:-$all_targets}"
out=".build-fuzz"
mkdir -p "$out/modules"
san=(-sanitize=fuzzer,address)
inc=(-I Sources/COpenSSL -I Sources/CSQLite -I Sources/CLibpq -Xcc -I/usr/include/postgresql -I Sources/CEpoll -I Sources/CQREncode -I Sources/CCurl -I "$out/modules")
opt=(-O -g -enable-testing -parse-as-library -swift-version 6)

# module NAME SOURCE_DIR: one whole-module object per library target, rebuilt when a source is newer.
module() {
    local name="$1" dir="$2" obj="$out/modules/$1.o"
    if [ -f "$obj" ] && [ -z "$(find "$dir" -name '*.swift' -newer "$obj" -print -quit)" ]; then return; fi
    echo "fuzz: compiling $name"
    swiftc "${opt[@]}" "${san[@]}" "${inc[@]}" -wmo -module-name "$name" \
        -emit-module -emit-module-path "$out/modules/$name.swiftmodule" \
        -c -o "$obj" $(find "$dir" -name '*.swift' | sort)
}

deps_for() {
    case "$1" in
        json|jwt|credential|query) echo "AuthCrypto" ;;
        body) echo "AuthCrypto AuthWebAuthn AuthCore" ;;
        fcgi_params) echo "AuthCrypto AuthWebAuthn AuthCore AuthFastCGI" ;;
        ws_upgrade|ws_frame) echo "AuthCrypto AuthWebAuthn AuthCore AuthHTTP AuthWS" ;;
        http_door) echo "AuthCrypto AuthWebAuthn AuthCore AuthHTTP" ;;
        fcgi_records) echo "AuthFastCGI" ;;
        webauthn) echo "AuthCrypto AuthWebAuthn" ;;
        *) echo "fuzz: unknown target $1" >&2; exit 2 ;;
    esac
}

module AuthCrypto Sources/AuthCrypto
for t in $targets; do case "$(deps_for "$t")" in *AuthWebAuthn*|*AuthCore*) module AuthWebAuthn Sources/AuthWebAuthn; break ;; esac; done
for t in $targets; do case "$(deps_for "$t")" in *AuthCore*) module AuthCore Sources/AuthCore; break ;; esac; done
for t in $targets; do case "$(deps_for "$t")" in *AuthHTTP*) module AuthHTTP Sources/AuthHTTP; break ;; esac; done
for t in $targets; do case "$(deps_for "$t")" in *AuthWS*) module AuthWS Sources/AuthWS; break ;; esac; done
for t in $targets; do case "$(deps_for "$t")" in *AuthFastCGI*) module AuthFastCGI Sources/AuthFastCGI; break ;; esac; done

for t in $targets; do
    objs=()
    for m in $(deps_for "$t"); do objs+=("$out/modules/$m.o"); done
    extra=()
    if [ "$t" = fcgi_params ]; then extra+=(Sources/authgate-fcgi/FastCGIParams.swift Sources/authgate-fcgi/GatePolicyParams.swift); fi
    if [ "$t" = http_door ]; then extra+=(Sources/authgate-fcgi/HTTPDoorRequest.swift Sources/authgate-fcgi/HTTPDoorConfig.swift Sources/authgate-fcgi/GatePolicyParams.swift Sources/authgate-fcgi/TransportLimits.swift); fi
    bin="$out/fuzz-$t"
    newest="$(find Tests/Fuzz/targets "${objs[@]}" -newer "$bin" -print -quit 2>/dev/null || echo rebuild)"
    if [ ! -x "$bin" ] || [ -n "$newest" ]; then
        echo "fuzz: linking $t"
        swiftc "${opt[@]}" "${san[@]}" "${inc[@]}" -module-name "fuzz_$t" -o "$bin" \
            Tests/Fuzz/targets/Common.swift "Tests/Fuzz/targets/$t.swift" ${extra[@]+"${extra[@]}"} "${objs[@]}" \
            -lcrypto -lsqlite3 -lpq -lqrencode -lcurl > "$out/link-$t.log" 2>&1 || { cat "$out/link-$t.log" >&2; exit 1; }
    fi
done
if [ -n "${FUZZ_BUILD_ONLY:-}" ]; then exit 0; fi

failed=0
summary="$out/summary.txt"
printf '%-12s %12s %8s %8s %8s\n' target executions corpus cov crashes > "$summary"
for t in $targets; do
    work="$out/corpus/$t"
    art="$out/artifacts/$t"
    mkdir -p "$work" "$art"
    if [ -d "Tests/Fuzz/corpus/$t" ]; then cp -n "Tests/Fuzz/corpus/$t"/* "$work"/ 2>/dev/null || true; fi
    log="$out/$t.log"
    echo "fuzz: running $t for ${seconds} s"
    set +e
    SWIFT_BACKTRACE=enable=no ASAN_OPTIONS="detect_leaks=0:${ASAN_OPTIONS:-}" "./$out/fuzz-$t" "$work" -max_total_time="$seconds" \
        -print_final_stats=1 -timeout=10 -max_len=4096 -artifact_prefix="$art/" > "$log" 2>&1
    rc=$?
    set -e
    execs="$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -n 1 | awk '{print $2}')"
    cov="$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | awk '{print $2}')"
    corpus="$(find "$work" -type f | wc -l)"
    crashes="$(find "$art" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)"
    printf '%-12s %12s %8s %8s %8s\n' "$t" "${execs:-?}" "$corpus" "${cov:-?}" "$crashes" >> "$summary"
    if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ] || [ -z "$execs" ]; then
        failed=1
        echo "fuzz: $t FAILED (exit $rc); see $log and $art" >&2
        grep -E 'FUZZ INVARIANT|ERROR: AddressSanitizer|Fatal error|SUMMARY' "$log" | head -n 5 >&2 || true
    fi
done
echo "fuzz: ${seconds} s per target"
cat "$summary"
exit "$failed"
