# services.containerctld: the daemon as a NixOS service, and containers declared in Nix.
#
#   services.containerctld = {
#     enable = true;
#     admins = [ "alice" ];
#     containers.web = {
#       config = { pkgs, ... }: { services.nginx.enable = true; };
#       network = { mode = "veth"; hostAddress = "10.231.0.1/30"; localAddress = "10.231.0.2/30"; };
#     };
#   };
#
# Each container's `config` is evaluated to a NixOS system (as nixos-containers.nix does, with the
# host's platform); its store path goes into /etc/containerctld/containers/NAME.yaml. The daemon
# applies those files at start and on `systemctl reload`, which `nixos-rebuild switch` triggers
# when one of them changes. Values the daemon would refuse fail the evaluation, saying what to change.
{ config, lib, pkgs, options, ... }:

let
  inherit (lib) mkEnableOption mkOption mkIf types;
  cfg = config.services.containerctld;
  ctdLib = import ./lib.nix;
  literal = lib.literalExpression or lib.literalExample;
  # The binary caches go into config.yaml only when set: an empty list is the daemon's default.
  caches = lib.optionalAttrs (cfg.substituters != [ ]) { inherit (cfg) substituters; }
    // lib.optionalAttrs (cfg.trustedPublicKeys != [ ]) { inherit (cfg) trustedPublicKeys; };

  # NixOS ≥ 22.11 sets a system's platform with nixpkgs.hostPlatform and its eval-config takes
  # system = null; older ones (checked: 2020-07) want the system's name there.
  hasHostPlatform = options ? nixpkgs && options.nixpkgs ? hostPlatform;
  # systemd.services.<name>.reloadTriggers (NixOS ≥ 22.05): switch-to-configuration reloads a unit
  # whose only change is X-Reload-Triggers. Without it, a changed definition restarts the daemon
  # (containers keep running: KillMode=process).
  canReload = (options.systemd.services.type.getSubOptions [ ]) ? reloadTriggers;

  # What nixos-containers.nix gives a container's NixOS: the host's platform, a container's boot,
  # its name as host name; no DHCP client, since LXC sets up its address and route from network.*.
  containerBase = name: { options, ... }: {
    config = {
      nixpkgs = if options.nixpkgs ? hostPlatform
        then { inherit (pkgs.stdenv) hostPlatform; }
        else { localSystem = pkgs.stdenv.hostPlatform; };
      boot.isContainer = true;
      networking.hostName = lib.mkDefault name;
      networking.useDHCP = lib.mkDefault false;
    };
  };

  bindMountOptions = {
    options = {
      host = mkOption { type = types.str; description = "Absolute path on the host."; };
      container = mkOption { type = types.str; description = "Absolute path inside the container."; };
      readOnly = mkOption { type = types.bool; default = true; };
      create = mkOption { type = types.bool; default = false; description = "Create the host directory when it is missing."; };
      idmapped = mkOption { type = types.bool; default = false; description = "Map ownership through the container's uid range (idmapped mount)."; };
    };
  };

  forwardPortOptions = {
    options = {
      hostPort = mkOption { type = types.port; };
      containerPort = mkOption { type = types.port; };
      protocol = mkOption { type = types.enum [ "tcp" "udp" ]; default = "tcp"; };
    };
  };

  containerOptions = { name, options, ... }: {
    options = {
      config = mkOption {
        description = "The container's NixOS configuration, as a module (or `path` instead).";
        type = lib.mkOptionType {
          name = "Toplevel NixOS config";
          merge = _loc: defs: (import (pkgs.path + "/nixos/lib/eval-config.nix") {
            modules = [ (containerBase name) ] ++ map (d: d.value) defs;
            prefix = [ "services" "containerctld" "containers" name ];
            # The platform comes from the host (containerBase); null keeps eval-config from adding
            # builtins.currentSystem where it can.
            system = if hasHostPlatform then null else pkgs.stdenv.hostPlatform.system;
          }).config;
        };
      };
      definesConfig = mkOption {
        internal = true;
        readOnly = true;
        type = types.bool;
        # Whether `config` is set, known without evaluating that NixOS.
        default = options.config.isDefined;
      };
      path = mkOption {
        type = types.nullOr types.path;
        default = null;
        description = "A prebuilt system in the Nix store (with ./init) to use instead of `config`.";
      };
      autostart = mkOption { type = types.bool; default = true; };
      idmap = {
        size = mkOption { type = types.ints.positive; default = 65536; description = "A multiple of 65536."; };
        base = mkOption { type = types.nullOr types.ints.positive; default = null; description = "A fixed first host uid, a multiple of 65536 inside the pool."; };
      };
      bindMounts = mkOption { type = types.listOf (types.submodule bindMountOptions); default = [ ]; };
      network = {
        mode = mkOption { type = types.enum [ "none" "veth" ]; default = "none"; };
        bridge = mkOption { type = types.nullOr types.str; default = null; };
        hostAddress = mkOption { type = types.nullOr types.str; default = null; example = "10.231.0.1/30"; };
        localAddress = mkOption { type = types.nullOr types.str; default = null; example = "10.231.0.2/30"; };
        hostAddress6 = mkOption { type = types.nullOr types.str; default = null; };
        localAddress6 = mkOption { type = types.nullOr types.str; default = null; };
        forwardPorts = mkOption { type = types.listOf (types.submodule forwardPortOptions); default = [ ]; };
      };
      limits = {
        memory = mkOption { type = types.nullOr types.str; default = null; example = "512M"; };
        cpus = mkOption { type = types.nullOr (types.either types.int types.float); default = null; example = 1.5; };
        pids = mkOption { type = types.nullOr types.ints.positive; default = null; };
      };
      stopTimeout = mkOption { type = types.str; default = "30s"; description = "30s, 2m, 1500ms, 1h: more than 0, at most 1h."; };
      activation = mkOption { type = types.enum [ "auto" "switch" "restart" "none" ]; default = "auto"; };
      ephemeral = mkOption { type = types.bool; default = false; description = "A fresh tmpfs root at each start: writes vanish at stop (the profile and console log stay)."; };
      nix.daemon = mkOption { type = types.bool; default = false; description = "Nix inside through the host's nix-daemon socket, as an untrusted user; GC roots under /nix/var/nix/gcroots/per-container/NAME."; };
    };
  };

  # The assertions make sure exactly one of the two is set before a file is written.
  systemOf = c: if c.path != null then toString c.path else c.config.system.build.toplevel;

  network = n: if n.mode == "none" then { mode = "none"; } else n // {
    forwardPorts = if n.forwardPorts == [ ] then null else n.forwardPorts;
  };

  definitionFile = name: "containerctld/containers/${name}.yaml";
  configFile = config.environment.etc."containerctld/config.yaml".source;
  definitionFiles = map (name: config.environment.etc.${definitionFile name}.source) (builtins.attrNames cfg.containers);

  toAssertions = map (check: { assertion = check.ok; inherit (check) message; });

  # nixos-container keeps its containers' profiles in per-container/NAME too: one name, one owner.
  profilesDir = cfg.settings.profilesDir or "/nix/var/nix/profiles/per-container";
  sharedNames = lib.optionals (profilesDir == "/nix/var/nix/profiles/per-container")
    (builtins.attrNames (builtins.intersectAttrs cfg.containers (config.containers or { })));
in
{
  imports = [ ./cockpit.nix ./metrics.nix ]; # the Cockpit page, where services.cockpit is on; metrics for node_exporter

  options.services.containerctld = {
    enable = mkEnableOption "containerctld, unprivileged LXC containers whose systems come from the Nix store";
    package = mkOption {
      type = types.package;
      default = pkgs.callPackage ./package.nix { };
      defaultText = literal "pkgs.callPackage ./package.nix { }";
    };
    idPool = {
      base = mkOption {
        type = types.ints.positive;
        default = ctdLib.defaultIdPool.base;
        description = "First host uid/gid handed to containers; written to config.yaml and to root's subUidRanges/subGidRanges. The default lies above login.defs' SUB_UID_MAX and past what NixOS gives normal users.";
      };
      size = mkOption { type = types.ints.positive; default = ctdLib.defaultIdPool.size; description = "How many ids the pool holds."; };
    };
    settings = mkOption {
      type = types.attrsOf types.unspecified;
      default = { };
      description = "More of containerctld's config.yaml (bus, stateDir, pruneDeclarative, …); the pool is services.containerctld.idPool.";
    };
    substituters = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "https://cache.example.org" "file:///srv/nix-cache" ];
      description = "Binary caches a container's prebuilt system (path) is fetched from when the store lacks it (pull deployment); config.yaml's substituters. Each path must be signed by one of trustedPublicKeys: the daemon never turns signature checks off.";
    };
    trustedPublicKeys = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "cache.example.org-1:M2jR2XiR9mdS2vLL5Tu0hT4jYZ3F6wGli0Zdiu1ZX60=" ];
      description = "The keys (as nix-store --generate-binary-cache-key writes them) one of whose signatures a path from substituters must carry; config.yaml's trustedPublicKeys.";
    };
    admins = mkOption {
      type = types.listOf types.str;
      default = [ ];
      description = "Users who may create, change and enter containers (members of group containerctl).";
    };
    containers = mkOption {
      type = types.attrsOf (types.submodule containerOptions);
      default = { };
      description = "Declarative containers: written to /etc/containerctld/containers/NAME.yaml.";
    };
  };

  config = mkIf cfg.enable {
    assertions = toAssertions (ctdLib.settingsChecks cfg.idPool cfg.settings
      ++ ctdLib.cacheChecks cfg.substituters cfg.trustedPublicKeys
      ++ builtins.concatLists (lib.mapAttrsToList (name: c: ctdLib.containerChecks name c c.definesConfig cfg.idPool) cfg.containers))
      ++ map (name: {
        assertion = false;
        message = "services.containerctld.containers.${name} and containers.${name} (nixos-container) would share the profile ${profilesDir}/${name}: rename one of them";
      }) sharedNames;

    virtualisation.lxc.enable = true;
    environment.systemPackages = [ cfg.package ];
    services.dbus.packages = [ cfg.package ];
    systemd.packages = [ cfg.package ];
    systemd.tmpfiles.packages = [ cfg.package ];
    # The unit comes from the package (the same file install.sh installs); NixOS adds when it starts
    # and what a switch does: config.yaml is read at start, so a change restarts the daemon
    # (containers keep running); a changed, new or removed container only reloads it (SIGHUP:
    # the daemon applies the files), and a switch that changes neither touches nothing.
    systemd.services.containerctld = {
      wantedBy = [ "multi-user.target" ];
      restartTriggers = [ configFile ] ++ lib.optionals (!canReload) definitionFiles;
    } // lib.optionalAttrs canReload {
      reloadTriggers = [ (builtins.toJSON (builtins.attrNames cfg.containers)) ] ++ definitionFiles;
    };

    users.groups.containerctl.members = cfg.admins;
    users.users.root = ctdLib.subIdRanges cfg.idPool;

    environment.etc = {
      "containerctld/config.yaml".text = builtins.toJSON
        (ctdLib.daemonSettings { idPool = { inherit (cfg.idPool) base size; }; settings = cfg.settings // caches; });
    } // lib.mapAttrs' (name: c: lib.nameValuePair (definitionFile name) {
      text = ctdLib.definitionText name (c // { network = network c.network; }) (systemOf c);
    }) cfg.containers;
  };
}
