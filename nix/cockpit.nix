# ContainerD's Cockpit page ("Containers" in Cockpit's menu), installed where services.cockpit is on.
# Imported by module.nix.
{ config, lib, pkgs, ... }:

let
  cfg = config.services.containerctld;
in
{
  options.services.containerctld.cockpit = {
    enable = lib.mkOption {
      type = lib.types.bool;
      default = config.services.cockpit.enable or false;
      defaultText = lib.literalExpression "config.services.cockpit.enable";
      description = "Install ContainerD's page for Cockpit, the web console.";
    };
    package = lib.mkOption {
      type = lib.types.package;
      default = pkgs.callPackage ./cockpit-package.nix { };
      defaultText = lib.literalExpression "pkgs.callPackage ./cockpit-package.nix { }";
    };
  };

  # NixOS's cockpit module links /share/cockpit of the system packages, where Cockpit looks.
  config = lib.mkIf (cfg.enable && cfg.cockpit.enable) {
    environment.systemPackages = [ cfg.cockpit.package ];
  };
}
