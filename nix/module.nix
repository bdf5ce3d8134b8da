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
# Each container's `config` is evaluated to a NixOS system (as nixos-containers.nix does); its
# store path goes into /etc/containerctld/containers/NAME.yaml, which the daemon applies at start.
{ config, lib, pkgs, ... }:

let
  inherit (lib) mkEnableOption mkOption mkIf types literalExpression;
  cfg = config.services.containerctld;
  ctdLib = import ./lib.nix;
  yaml = pkgs.formats.yaml { };

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

  containerOptions = { name, config, ... }: {
    options = {
      config = mkOption {
        description = "The container's NixOS configuration, as a module.";
        default = null;
        type = types.nullOr (lib.mkOptionType {
          name = "Toplevel NixOS config";
          merge = _loc: defs: (import (pkgs.path + "/nixos/lib/eval-config.nix") {
            modules = [ { boot.isContainer = true; networking.hostName = lib.mkDefault name; } ] ++ map (d: d.value) defs;
            prefix = [ "services" "containerctld" "containers" name ];
            system = null;
          }).config;
        });
      };
      path = mkOption {
        type = types.nullOr types.path;
        default = null;
        description = "A prebuilt system (with ./init) to use instead of `config`.";
      };
      autostart = mkOption { type = types.bool; default = true; };
      idmap = {
        size = mkOption { type = types.ints.positive; default = 65536; description = "A multiple of 65536."; };
        base = mkOption { type = types.nullOr types.ints.positive; default = null; description = "A fixed first host uid, inside the pool."; };
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
        cpus = mkOption { type = types.nullOr types.number; default = null; example = 1.5; };
        pids = mkOption { type = types.nullOr types.ints.positive; default = null; };
      };
      stopTimeout = mkOption { type = types.str; default = "30s"; };
      activation = mkOption { type = types.enum [ "auto" "switch" "restart" "none" ]; default = "auto"; };
    };
  };

  systemOf = name: c:
    if c.path != null then c.path
    else if c.config != null then c.config.system.build.toplevel
    else throw "services.containerctld.containers.${name}: set `config` (a NixOS module) or `path` (a prebuilt system)";

  network = n: if n.mode == "none" then { mode = "none"; } else n // {
    forwardPorts = if n.forwardPorts == [ ] then null else n.forwardPorts;
  };
in
{
  options.services.containerctld = {
    enable = mkEnableOption "containerctld, unprivileged LXC containers whose systems come from the Nix store";
    package = mkOption {
      type = types.package;
      default = pkgs.callPackage ./package.nix { };
      defaultText = literalExpression "pkgs.callPackage ./package.nix { }";
    };
    idPool = {
      base = mkOption { type = types.ints.positive; default = 100000; description = "First host uid/gid handed to containers."; };
      size = mkOption { type = types.ints.positive; default = 1000000000; description = "How many ids the pool holds."; };
    };
    settings = mkOption {
      type = types.submodule { freeformType = yaml.type; };
      default = { };
      description = "More of containerctld's config.yaml (bus, stateDir, pruneDeclarative, …).";
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
    virtualisation.lxc.enable = true;
    environment.systemPackages = [ cfg.package ];
    services.dbus.packages = [ cfg.package ];
    systemd.packages = [ cfg.package ];
    systemd.tmpfiles.packages = [ cfg.package ];
    # The unit comes from the package (the same file install.sh installs); NixOS adds when it starts.
    systemd.services.containerctld = {
      wantedBy = [ "multi-user.target" ];
      restartTriggers = [ config.environment.etc."containerctld/config.yaml".source ];
    };

    users.groups.containerctl.members = cfg.admins;
    users.users.root = ctdLib.subIdRanges cfg.idPool;

    environment.etc = {
      "containerctld/config.yaml".source = yaml.generate "containerctld-config.yaml"
        (ctdLib.daemonSettings { idPool = { inherit (cfg.idPool) base size; }; settings = cfg.settings; });
    } // lib.mapAttrs' (name: c: lib.nameValuePair "containerctld/containers/${name}.yaml" {
      text = ctdLib.definitionText name (c // { network = network c.network; }) (systemOf name c);
    }) cfg.containers;
  };
}
