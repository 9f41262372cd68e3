#!/usr/bin/env bash
# Builds the WASM example plugins (spec 07 §10) and copies them to plugins/examples/dist/:
# dist/tax-us.wasm, dist/zero-tax.wasm, dist/ssp-allocator.wasm, and the hostile fixture
# dist/tax-us-std.wasm (tax-us built with std, 07 §11 H11). Needs only crates.io and the
# wasm32-wasip2 target; the toolchain's wasm-component-ld emits components directly.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

examples=(tax-us zero-tax ssp-allocator tax-us-std)
target=wasm32-wasip2
target_dir=target/wasm-examples

if [ ! -d "$(rustc --print sysroot)/lib/rustlib/$target" ]; then
    echo "build.sh: the $target target is missing: run \`rustup target add $target\`" >&2
    exit 1
fi

cargo build --release --locked --target "$target" --target-dir "$target_dir" --workspace --exclude tax-us-std
# On its own, so that the SDK's `runtime` feature the other examples enable is not unified into it.
cargo build --release --locked --target "$target" --target-dir "$target_dir" -p tax-us-std

mkdir -p dist
for example in "${examples[@]}"; do
    built="$target_dir/$target/release/${example//-/_}.wasm"
    # A component starts with "\0asm" and version 0x0d, layer 1; a core module has 1, 0.
    header=$(od -An -tx1 -N8 "$built" | tr -d ' \n')
    if [ "$header" != "0061736d0d000100" ]; then
        echo "build.sh: $built is not a WebAssembly component (header $header)" >&2
        exit 1
    fi
    cp "$built" "dist/$example.wasm"
    echo "dist/$example.wasm: $(wc -c < "dist/$example.wasm") bytes"
done
