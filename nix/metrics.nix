# ContainerD's metrics for Prometheus, through node_exporter's textfile collector: every interval
# containerctld-metrics.service (the package's unit, as install.sh installs it) writes
# `containerctl metrics` atomically into the directory, which node_exporter is told to read:
#
#   services.containerctld.metrics.enable = true;
#   services.prometheus.exporters.node = {
#     enable = true;
#     extraFlags = [ "--collector.textfile.directory=${config.services.containerctld.metrics.directory}" ];
#   };
#
# Imported by module.nix.
{ config, lib, ... }:

let
  inherit (lib) mkOption types;
  cfg = config.services.containerctld;
  metrics = cfg.metrics;
in
{
  options.services.containerctld.metrics = {
    enable = lib.mkEnableOption "writing containerctl metrics into node_exporter's textfile collector directory on a timer";
    directory = mkOption {
      type = types.str;
      default = "/var/lib/node_exporter/textfile_collector";
      description = "node_exporter's --collector.textfile.directory: containerctld.prom is written there (0644, the directory made if missing).";
    };
    interval = mkOption {
      type = types.str;
      default = "15s";
      example = "1min";
      description = "How often the metrics are written (a systemd time span); node_exporter serves the last file at each of its scrapes.";
    };
  };

  config = lib.mkIf (cfg.enable && metrics.enable) {
    assertions = [{
      assertion = lib.hasPrefix "/" metrics.directory && !(lib.hasInfix "\n" metrics.directory);
      message = "services.containerctld.metrics.directory must be an absolute path, not \"${metrics.directory}\"";
    }];
    systemd.tmpfiles.rules = [ "d ${metrics.directory} 0755 root root -" ];
    # Drop-ins on the package's units: the directory instead of Debian's, and the timer's interval
    # instead of its 15 s (an empty OnUnitActiveSec= first clears the packaged one).
    systemd.services.containerctld-metrics = {
      environment.TEXTFILE_DIR = metrics.directory;
      serviceConfig.ReadWritePaths = [ metrics.directory ];
    };
    systemd.timers.containerctld-metrics = {
      wantedBy = [ "timers.target" ];
      timerConfig.OnUnitActiveSec = [ "" metrics.interval ];
    };
  };
}
