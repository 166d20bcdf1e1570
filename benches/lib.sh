# Shared by the bench scripts (sourced, not run).

# usage_help SCRIPT: prints the script's leading comment block, its help.
usage_help() {
  awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "$1"
}

# release_bin [BIN]: BIN when given, otherwise a fresh release build of convqa.
release_bin() {
  if [ -n "${1:-}" ]; then
    echo "$1"
  else
    cargo build --release --quiet >&2
    echo ./target/release/convqa
  fi
}
