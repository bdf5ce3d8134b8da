# Pure helpers of the NixOS module, written with builtins only so that they evaluate without
# nixpkgs (the tests evaluate them offline with nix-instantiate).
rec {
  # The uid/gid pool the module gives containers unless services.containerctld.idPool says
  # otherwise — the module's one source for it, equal to the daemon's default
  # (DaemonConfig.DefaultIdPool): 2^30 (0x40000000) up to 0x6FFFFFFF, 12288 ranges of 65536. Above
  # login.defs' SUB_UID_MAX/SUB_GID_MAX (600100000, on Debian and NixOS alike), so `useradd` keeps
  # finding free subordinate ids, and past the ranges NixOS's autoSubUidGidRange hands normal users
  # (the n-th gets 100000 + (n-1)·65536: the first 16382 such users stay below the pool);
  # 65536-aligned, ending where systemd's container range ends, below 2^31.
  defaultIdPool = { base = 1073741824; size = 805306368; };

  # Drops null attributes, recursively: the daemon rejects keys with no value, and an option left
  # unset should simply be absent from the YAML.
  withoutNulls = value:
    if builtins.isAttrs value then
      builtins.mapAttrs (_: withoutNulls) (builtins.removeAttrs value
        (builtins.filter (n: value.${n} == null) (builtins.attrNames value)))
    else if builtins.isList value then map withoutNulls value
    else value;

  # A container's definition as the daemon reads it (DESIGN.md "Container definition"), from the
  # module's options for containers.<name>; `system` is the store path of its system.
  definition = name: c: system: withoutNulls {
    inherit name;
    system = { path = system; };
    autostart = c.autostart or true;
    idmap = { size = c.idmap.size or 65536; base = c.idmap.base or null; };
    bindMounts = map (m: {
      inherit (m) host container;
      readOnly = m.readOnly or true;
      create = m.create or false;
      idmapped = m.idmapped or false;
    }) (c.bindMounts or [ ]);
    network = c.network or { mode = "none"; };
    limits = c.limits or { };
    stopTimeout = c.stopTimeout or "30s";
    activation = c.activation or "auto";
    ephemeral = c.ephemeral or false;
    nix = { daemon = c.nix.daemon or false; };
  };

  # JSON is YAML: the definition file's text, exactly as written to /etc/containerctld/containers.
  definitionText = name: c: system: builtins.toJSON (definition name c system);

  # The daemon's config: the admin's settings over the module's defaults; the pool is always the
  # module's (settings.idPool may only repeat it). On NixOS /etc/subuid is generated from
  # users.users, so the daemon must not edit it (manageSubIds = false).
  daemonSettings = { idPool, settings ? { } }:
    withoutNulls ({ manageSubIds = false; } // settings // { inherit idPool; });

  # users.users.root.subUidRanges / subGidRanges entries covering the pool.
  subIdRanges = idPool: {
    subUidRanges = [ { startUid = idPool.base; count = idPool.size; } ];
    subGidRanges = [ { startGid = idPool.base; count = idPool.size; } ];
  };

  # ---- What the daemon refuses, refused at evaluation instead (with what to change) ----
  # Each check is { ok; message; }; the module turns them into NixOS assertions. They mirror
  # src/ContainerD.Domain: ContainerName, DefinitionParser (idmap, stopTimeout, system.path,
  # network) and DaemonConfigParser (idPool).

  granularity = 65536;
  mod = a: b: a - (a / b) * b;
  roundUp = n: if n <= 0 then granularity else ((n + granularity - 1) / granularity) * granularity;
  matches = regex: s: builtins.match regex s != null;
  # Decimal digits to a number; leading zeros allowed (JSON would refuse them).
  toInt = digits: builtins.fromJSON (builtins.head (builtins.match "0*([0-9]+)" digits));

  lower = builtins.replaceStrings
    [ "A" "B" "C" "D" "E" "F" "G" "H" "I" "J" "K" "L" "M" "N" "O" "P" "Q" "R" "S" "T" "U" "V" "W" "X" "Y" "Z" "_" "." " " ]
    [ "a" "b" "c" "d" "e" "f" "g" "h" "i" "j" "k" "l" "m" "n" "o" "p" "q" "r" "s" "t" "u" "v" "w" "x" "y" "z" "-" "-" "-" ];
  # A valid name close to a refused one, for the message: "Web_1" → "web-1".
  suggestName = name:
    let
      chars = builtins.filter (ch: matches "[a-z0-9-]" ch) (map (i: builtins.substring i 1 (lower name)) (builtins.genList (i: i) (builtins.stringLength name)));
      kept = builtins.concatStringsSep "" chars;
      lettered = if matches "[a-z].*" kept then kept else "c-" + kept;
    in builtins.substring 0 31 lettered;

  namePattern = "[a-z][a-z0-9-]{0,30}";
  # The daemon's StorePathPattern: /nix/store/<32 characters of Nix's base32>-<name>.
  storePathPattern = "/nix/store/[0-9abcdfghijklmnpqrsvwxyz]{32}-[A-Za-z0-9+_?=-][A-Za-z0-9+._?=-]{0,210}";
  # 30s, 2m, 1500ms, 1h, 30 (seconds); more than 0, at most 1h (8 significant digits exceed 1h in any unit).
  stopTimeoutOk = text:
    let m = builtins.match "0*([1-9][0-9]{0,6})(ms|s|m|h)?" text;
    in m != null && (
      let
        count = toInt (builtins.head m);
        unit = builtins.elemAt m 1;
        ms = count * (if unit == "ms" then 1 else if unit == "m" then 60000 else if unit == "h" then 3600000 else 1000);
      in ms <= 3600000);
  # limits.memory as DefinitionParser reads it: bytes with an optional binary suffix, at least 4M.
  memoryPattern = "[0-9]+[KkMmGgTt]?";
  minMemory = 4194304;
  # In floating point, so that a huge count cannot overflow.
  memoryBytes = text:
    let
      m = builtins.match "([0-9]+)([KkMmGgTt]?)" text;
      unit = lower (builtins.elemAt m 1);
    in 1.0 * toInt (builtins.head m)
      * (if unit == "k" then 1024 else if unit == "m" then 1048576 else if unit == "g" then 1073741824 else if unit == "t" then 1099511627776 else 1);
  ipv4Cidr = text:
    let m = builtins.match "([0-9]{1,3})\\.([0-9]{1,3})\\.([0-9]{1,3})\\.([0-9]{1,3})/([0-9]{1,2})" text;
    in m != null
      && builtins.all (o: (o == "0" || !matches "0.*" o) && toInt o <= 255) (builtins.genList (i: builtins.elemAt m i) 4)
      && (let bits = toInt (builtins.elemAt m 4); in bits >= 1 && bits <= 32);
  ipv6Cidr = text:
    let m = builtins.match "([0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)/([0-9]{1,3})" text;
    in m != null && (let bits = toInt (builtins.elemAt m 1); in bits >= 1 && bits <= 128);

  # containers.<name>: `c` has the module's options for it; definesConfig says whether `config` is
  # set (without evaluating that NixOS); idPool is the host's pool.
  containerChecks = name: c: definesConfig: idPool:
    let
      at = "services.containerctld.containers.${name}";
      size = c.idmap.size;
      base = c.idmap.base;
      n = c.network;
      path = if c.path == null then null else toString c.path;
      has = key: n.${key} != null;
      addressKeys = [ "hostAddress" "localAddress" "hostAddress6" "localAddress6" ];
    in [
      { ok = matches namePattern name;
        message = "${at}: containerctld does not take the name '${name}': use a lower-case letter, then up to 30 lower-case letters, digits and '-' (^${namePattern}$), e.g. '${suggestName name}'"; }
      { ok = !(definesConfig && path != null);
        message = "${at}: set either `config` (a NixOS module) or `path` (a prebuilt system), not both"; }
      { ok = definesConfig || path != null;
        message = "${at}: set `config` (a NixOS module) or `path` (a prebuilt system with ./init)"; }
      { ok = path == null || matches storePathPattern path;
        message = "${at}.path '${toString path}' is not in the Nix store: the daemon boots only store paths (/nix/store/<hash>-…); give a built system, e.g. `path = someNixos.config.system.build.toplevel;`, or use `config`"; }
      { ok = mod size granularity == 0;
        message = "${at}.idmap.size ${toString size} is not a multiple of ${toString granularity}: use ${toString (roundUp size)}"; }
      { ok = size <= idPool.size;
        message = "${at}.idmap.size ${toString size} is larger than services.containerctld.idPool.size ${toString idPool.size}: make it smaller or the pool larger"; }
      { ok = base == null || (mod base granularity == 0 && base >= idPool.base && base + size <= idPool.base + idPool.size);
        message = "${at}.idmap.base ${toString base} must be a multiple of ${toString granularity} with base + size inside services.containerctld.idPool (${toString idPool.base} to ${toString (idPool.base + idPool.size)}): leave it null, and the daemon picks a free range"; }
      { ok = stopTimeoutOk c.stopTimeout;
        message = "${at}.stopTimeout \"${c.stopTimeout}\" is not a duration containerctld takes: a number of ms, s, m or h (no unit: seconds), more than 0 and at most 1h, such as \"30s\" or \"2m\""; }
      { ok = n.mode == "veth" || builtins.all (key: !has key) (addressKeys ++ [ "bridge" ]) && n.forwardPorts == [ ];
        message = "${at}.network: addresses, bridge and forwardPorts need network.mode = \"veth\""; }
      { ok = n.mode != "veth" || has "bridge" || builtins.any has addressKeys;
        message = "${at}.network.mode is \"veth\" but the link has no addresses: set network.hostAddress and network.localAddress (e.g. \"10.231.0.1/30\" and \"10.231.0.2/30\"; or hostAddress6 and localAddress6), or network.bridge to join a host bridge"; }
      { ok = n.mode != "veth" || !has "bridge" || (!has "hostAddress" && !has "hostAddress6");
        message = "${at}.network.hostAddress is the host end of a point-to-point link: with network.bridge, give only network.localAddress (and localAddress6)"; }
      { ok = n.mode != "veth" || has "bridge" || (has "hostAddress" == has "localAddress" && has "hostAddress6" == has "localAddress6");
        message = "${at}.network: hostAddress and localAddress (and hostAddress6 and localAddress6) go together: the host's and the container's end of the link"; }
      { ok = builtins.all (key: !has key || ipv4Cidr n.${key}) [ "hostAddress" "localAddress" ];
        message = "${at}.network: hostAddress and localAddress are IPv4 addresses with a prefix length, such as \"10.231.0.2/30\""; }
      { ok = builtins.all (key: !has key || ipv6Cidr n.${key}) [ "hostAddress6" "localAddress6" ];
        message = "${at}.network: hostAddress6 and localAddress6 are IPv6 addresses with a prefix length, such as \"fd42::2/64\""; }
      { ok = n.mode != "veth" || n.forwardPorts == [ ] || has "localAddress" || has "localAddress6";
        message = "${at}.network.forwardPorts needs network.localAddress (or localAddress6) to forward to"; }
      { ok = c.limits.memory == null || matches memoryPattern c.limits.memory;
        message = "${at}.limits.memory \"${toString c.limits.memory}\" is not a size such as \"512M\", \"1G\" or \"1073741824\""; }
      { ok = c.limits.memory == null || !(matches memoryPattern c.limits.memory) || memoryBytes c.limits.memory >= minMemory;
        message = "${at}.limits.memory \"${toString c.limits.memory}\" is below the minimum of 4M: an init cannot start in less"; }
      { ok = c.limits.cpus == null || (c.limits.cpus >= 0.01 && c.limits.cpus <= 1024);
        message = "${at}.limits.cpus must be at least 0.01 and at most 1024: it becomes a CPU quota per 100 ms, and the kernel takes none below 1 ms"; }
    ];

  # The host's settings: one pool, the daemon leaves /etc/subuid to NixOS, and reads the files the module writes.
  # DaemonConfigParser's rule for binary caches: no cache without a key to check its signatures by.
  cacheChecks = substituters: trustedPublicKeys: [
    { ok = substituters == [ ] || trustedPublicKeys != [ ];
      message = "services.containerctld.substituters need services.containerctld.trustedPublicKeys: containerctld takes a path from a binary cache only with a signature by one of them (it never turns signature checks off)"; }
  ];

  settingsChecks = idPool: settings: [
    { ok = !(settings ? idPool) || settings.idPool == { inherit (idPool) base size; };
      message = "services.containerctld.settings.idPool (${builtins.toJSON settings.idPool}) disagrees with services.containerctld.idPool (${builtins.toJSON { inherit (idPool) base size; }}): set only services.containerctld.idPool; it writes both config.yaml's idPool and root's subUidRanges and subGidRanges"; }
    { ok = (settings.manageSubIds or false) == false;
      message = "services.containerctld.settings.manageSubIds must stay false on NixOS: /etc/subuid and /etc/subgid come from users.users, and the module gives root services.containerctld.idPool there"; }
    { ok = (settings.definitionsDir or "/etc/containerctld/containers") == "/etc/containerctld/containers";
      message = "services.containerctld.settings.definitionsDir must stay /etc/containerctld/containers: that is where the module writes services.containerctld.containers"; }
    { ok = idPool.base >= 65536 && idPool.base + idPool.size <= 4294967295;
      message = "services.containerctld.idPool (base ${toString idPool.base}, size ${toString idPool.size}) must start at 65536 or above, away from the host's own users, and end below 4294967295"; }
    { ok = idPool.size >= 65536;
      message = "services.containerctld.idPool.size ${toString idPool.size} is too small for one container: at least 65536"; }
  ];
}
