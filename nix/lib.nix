# Pure helpers of the NixOS module, written with builtins only so that they evaluate without
# nixpkgs (the tests evaluate them offline with nix-instantiate).
rec {
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
  };

  # JSON is YAML: the definition file's text, exactly as written to /etc/containerctld/containers.
  definitionText = name: c: system: builtins.toJSON (definition name c system);

  # The daemon's config: the admin's settings over the module's defaults. On NixOS /etc/subuid is
  # generated from users.users, so the daemon must not edit it (manageSubIds = false).
  daemonSettings = { idPool, settings ? { } }:
    withoutNulls ({ manageSubIds = false; inherit idPool; } // settings);

  # users.users.root.subUidRanges / subGidRanges entries covering the pool.
  subIdRanges = idPool: {
    subUidRanges = [ { startUid = idPool.base; count = idPool.size; } ];
    subGidRanges = [ { startGid = idPool.base; count = idPool.size; } ];
  };
}
