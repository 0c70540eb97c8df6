# Sourced by ./yulan and ./run-tests: sets JAVA_HOME to a JDK of 22 or later (the Vector API and FFM need it).
# Looks at $JAVA_HOME, then the JDKs under /usr/lib/jvm and /opt, then `java` on the PATH; the newest wins.

yulan_java_feature() { # prints the feature release of the JDK in $1 (e.g. 25), or nothing
  [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 0
  "$1/bin/java" -XshowSettings:properties -version 2>&1 \
    | sed -n 's/^ *java\.specification\.version = \([0-9][0-9]*\).*/\1/p' | head -n 1
}

yulan_find_jdk() {
  local best="" best_v=0 candidate v
  local candidates=()
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  for candidate in /usr/lib/jvm/* /opt/java/* /opt/jdk* /opt/*jdk*; do
    [ -d "$candidate" ] && candidates+=("$candidate")
  done
  if command -v java >/dev/null 2>&1; then
    candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")")
  fi
  for candidate in "${candidates[@]}"; do
    v=$(yulan_java_feature "$candidate")
    if [ -n "$v" ] && [ "$v" -ge 22 ] && [ "$v" -gt "$best_v" ]; then
      best="$candidate"; best_v="$v"
    fi
  done
  if [ -z "$best" ]; then
    echo "yulan: no JDK of version 22 or later found (looked at \$JAVA_HOME, /usr/lib/jvm, /opt and the PATH)." >&2
    echo "yulan: install one, e.g. 'apt-get install temurin-25-jdk' or 'apt-get install openjdk-25-jdk', or set JAVA_HOME to it." >&2
    return 1
  fi
  export JAVA_HOME="$best"
}

yulan_need_maven() {
  if ! command -v mvn >/dev/null 2>&1; then
    echo "yulan: Apache Maven is needed to build (install it with 'apt-get install maven')." >&2
    return 1
  fi
}
