using ContainerD.Domain.Definitions;

namespace ContainerD.Tests.Definitions;

public class DefinitionParserTests
{
    // A well-formed store path: 32 characters of Nix's base32 (no e, o, u, t), then a name.
    private const string Store = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-nixos-system-web";

    // A valid two-line start; the cases below add line 3 onwards.
    private const string Head = "name: web\nsystem: { path: " + Store + " }\n";

    private static string[] Errors(string yaml, string? expectedName = null)
    {
        var e = Assert.Throws<InvalidDefinitionException>(() => DefinitionParser.Parse(yaml, "web.yaml", expectedName));
        return e.Errors.Select(error => error.ToString()).ToArray();
    }

    [Fact]
    public void A_full_definition_gives_every_value()
    {
        const string yaml = """
            name: web
            system:
              nix:
                file: /etc/containerctld/web.nix
                attr: config.system.build.toplevel
                args: { hostName: web, "enable-ssh": "true", port: 8080 }
            autostart: true
            idmap:
              size: 131072
              base: 327680
            bindMounts:
              - { host: /srv/web, container: /srv, readOnly: false }
              - host: /var/lib/data
                container: /data
                readOnly: true
                create: true
                idmapped: true
            network:
              mode: veth
              hostAddress: 10.233.1.1/24
              localAddress: 10.233.1.2/24
              hostAddress6: fd00::1/64
              localAddress6: fd00::2/64
              forwardPorts:
                - { hostPort: 8080, containerPort: 80 }
                - { hostPort: 53, protocol: udp }
            limits: { memory: 512M, cpus: 1.5, pids: 2048 }
            stopTimeout: 2m
            activation: switch
            """;

        var d = DefinitionParser.Parse(yaml, "web.yaml");

        Assert.Equal("web", d.Name);
        var nix = Assert.IsType<NixExpressionSystem>(d.System);
        Assert.Equal("/etc/containerctld/web.nix", nix.File);
        Assert.Equal("config.system.build.toplevel", nix.Attr);
        Assert.Equal(
            [new("enable-ssh", "true"), new("hostName", "web"), new("port", "8080")],
            nix.Args.OrderBy(arg => arg.Key, StringComparer.Ordinal).ToArray<KeyValuePair<string, string>>());
        Assert.True(d.Autostart);
        Assert.Equal(new IdMapRequest(131072, 327680), d.IdMap);
        Assert.Equal(
            [
                new BindMount("/srv/web", "/srv", ReadOnly: false, Create: false, Idmapped: false),
                new BindMount("/var/lib/data", "/data", ReadOnly: true, Create: true, Idmapped: true),
            ],
            d.BindMounts);
        Assert.Equal(NetworkMode.Veth, d.Network.Mode);
        Assert.Null(d.Network.Bridge);
        Assert.Equal("10.233.1.1/24", d.Network.HostAddress);
        Assert.Equal("10.233.1.2/24", d.Network.LocalAddress);
        Assert.Equal("fd00::1/64", d.Network.HostAddress6);
        Assert.Equal("fd00::2/64", d.Network.LocalAddress6);
        Assert.Equal([new PortForward(8080, 80, "tcp"), new PortForward(53, 53, "udp")], d.Network.ForwardPorts);
        Assert.Equal(new ResourceLimits(512L << 20, 1.5, 2048), d.Limits);
        Assert.Equal(TimeSpan.FromMinutes(2), d.StopTimeout);
        Assert.Equal(Activation.Switch, d.Activation);
    }

    [Theory]
    [InlineData("/srv/web#web", "/srv/web", "nixosConfigurations.web.config.system.build.toplevel")]
    [InlineData("/srv/web#packages.x86_64-linux.web", "/srv/web", "packages.x86_64-linux.web")]
    public void A_flake_names_a_configuration_or_an_attribute(string flake, string path, string attribute)
    {
        var d = DefinitionParser.Parse($"name: web\nsystem: {{ flake: \"{flake}\" }}\n", "web.yaml");

        Assert.Equal(new FlakeSystem(path, attribute), d.System);
        Assert.Equal($"{path}#{attribute}", ((FlakeSystem)d.System).Reference);
    }

    [Fact]
    public void A_minimal_definition_gets_the_defaults()
    {
        var d = DefinitionParser.Parse(Head, "web.yaml");

        Assert.Equal("web", d.Name);
        Assert.Equal(new StorePathSystem(Store), d.System);
        Assert.False(d.Autostart);
        Assert.Equal(IdMapRequest.Default, d.IdMap);
        Assert.Empty(d.BindMounts);
        Assert.Equal(NetworkSettings.None, d.Network);
        Assert.Equal(ResourceLimits.None, d.Limits);
        Assert.Equal(TimeSpan.FromSeconds(30), d.StopTimeout);
        Assert.Equal(Activation.Auto, d.Activation);
        Assert.False(d.Ephemeral);
        Assert.False(d.NixDaemon);
    }

    [Fact]
    public void Ephemeral_and_the_nix_daemon_are_asked_for_by_name()
    {
        var d = DefinitionParser.Parse(Head + "ephemeral: true\nnix: { daemon: true }\n", "web.yaml");

        Assert.True(d.Ephemeral);
        Assert.True(d.NixDaemon);
    }

    [Fact]
    public void Nix_takes_only_a_boolean_daemon()
    {
        string[] errors = Errors(Head + "ephemeral: yes\nnix: { daemon: \"true\", db: rw }\n");

        Assert.Contains(errors, e => e.Contains("ephemeral must be true or false", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("nix.daemon must be true or false", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("db", StringComparison.Ordinal));
    }

    [Fact]
    public void Null_values_mean_the_default()
    {
        var d = DefinitionParser.Parse(Head + "autostart:\nidmap: ~\nstopTimeout: null\n", "web.yaml");

        Assert.False(d.Autostart);
        Assert.Equal(IdMapRequest.Default, d.IdMap);
        Assert.Equal(TimeSpan.FromSeconds(30), d.StopTimeout);
    }

    [Fact]
    public void The_name_may_come_from_the_caller()
    {
        var d = DefinitionParser.Parse($"system: {{ path: {Store} }}", "web.yaml", expectedName: "web");

        Assert.Equal("web", d.Name);
    }

    [Fact]
    public void A_byte_order_mark_before_the_document_is_no_part_of_it()
    {
        // YAML allows a BOM at the start of a stream; editors on Windows write one. containerctl -f
        // sends the file's text as it is (a declarative file, read with File.ReadAllText, loses it).
        var d = DefinitionParser.Parse("\uFEFF" + Head + "autostart: true\n", "web.yaml");

        Assert.Equal("web", d.Name);
        Assert.True(d.Autostart);
        Assert.Equal(["web.yaml:1:1: unknown key 'nmae' (allowed keys: name, system, autostart, idmap, bindMounts, network, limits, stopTimeout, activation, ephemeral, nix)"],
            Errors("\uFEFFnmae: web\n", expectedName: "web").Take(1));
    }

    [Fact]
    public void A_bridged_veth_may_give_the_container_an_address()
    {
        var d = DefinitionParser.Parse(Head + "network: { mode: veth, bridge: br-lan.10, localAddress: 192.168.1.20/24 }", "web.yaml");

        Assert.Equal(new NetworkSettings(NetworkMode.Veth, "br-lan.10", null, "192.168.1.20/24", null, null, []), d.Network with { ForwardPorts = [] });
    }

    [Theory]
    [InlineData("", "1.5", 1.5)]
    [InlineData("1073741824", "1024", 1024.0)]
    [InlineData("4m", "0.25", 0.25)]
    [InlineData("", "0.01", 0.01)]
    [InlineData("2g", "1", 1.0)]
    [InlineData("1T", "8", 8.0)]
    public void Limits_take_sizes_and_fractions(string memory, string cpus, double expectedCpus)
    {
        var yaml = Head + $"limits: {{ {(memory.Length > 0 ? $"memory: {memory}, " : "")}cpus: {cpus} }}";

        var limits = DefinitionParser.Parse(yaml, "web.yaml").Limits;

        long? expectedMemory = memory switch { "" => null, "1073741824" => 1L << 30, "4m" => 4L << 20, "2g" => 2L << 30, _ => 1L << 40 };
        Assert.Equal(new ResourceLimits(expectedMemory, expectedCpus, null), limits);
    }

    [Theory]
    [InlineData("30", 30_000)]
    [InlineData("1500ms", 1_500)]
    [InlineData("45s", 45_000)]
    [InlineData("1h", 3_600_000)]
    public void StopTimeout_takes_units(string text, int milliseconds)
    {
        var d = DefinitionParser.Parse(Head + $"stopTimeout: {text}", "web.yaml");

        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), d.StopTimeout);
    }

    [Theory]
    [InlineData("\"\"", "web.yaml:1:7: a container name must not be empty")]
    [InlineData("abcdefghijabcdefghijabcdefghijab", "web.yaml:1:7: container name 'abcdefghijabcdefghijabcdefghijab' is 32 characters long; the limit is 31")]
    [InlineData("Web", "web.yaml:1:7: container name 'Web' is not valid: use a lower-case letter followed by lower-case letters, digits and '-'")]
    [InlineData("../x", "web.yaml:1:7: container name '../x' is not valid: use a lower-case letter followed by lower-case letters, digits and '-'")]
    [InlineData("a/b", "web.yaml:1:7: container name 'a/b' is not valid: use a lower-case letter followed by lower-case letters, digits and '-'")]
    [InlineData("wébserver", "web.yaml:1:7: container name 'wébserver' is not valid: use a lower-case letter followed by lower-case letters, digits and '-'")]
    [InlineData("-x", "web.yaml:1:7: container name '-x' is not valid: use a lower-case letter followed by lower-case letters, digits and '-'")]
    [InlineData("1abc", "web.yaml:1:7: container name '1abc' is not valid: use a lower-case letter followed by lower-case letters, digits and '-'")]
    [InlineData("{ a: 1 }", "web.yaml:1:7: name must be a string, not a mapping")]
    public void Bad_names_are_rejected(string name, string expected)
    {
        Assert.Equal([expected], Errors($"name: {name}\nsystem: {{ path: {Store} }}\n"));
    }

    [Theory]
    // The document as a whole
    [InlineData("", "web.yaml: the definition is empty; it needs at least name and system")]
    [InlineData("# nothing\n", "web.yaml: the definition is empty; it needs at least name and system")]
    [InlineData("- name: web\n", "web.yaml:1:1: the document must be a mapping of keys to values, not a list")]
    [InlineData("web\n", "web.yaml:1:1: the document must be a mapping of keys to values, not 'web'")]
    [InlineData(Head + "---\n" + Head, "web.yaml:4:1: only one YAML document is allowed; remove the second '---'")]
    [InlineData("name: web: x\n", "web.yaml:1:10: malformed YAML: While scanning a plain scalar value, found invalid mapping.")]
    [InlineData("name: [a, b\nsystem: c\n", "web.yaml:1:9: malformed YAML: could not read past this point; is a '[', '{' or quote left open?")]
    [InlineData(Head + "name: db\n", "web.yaml:3:1: duplicate key 'name'; it is already set on line 1")]
    [InlineData(Head + "? [a, b]\n: c\n", "web.yaml:3:3: a key must be a plain value, not a mapping, a list or an alias")]
    // Keys and types
    [InlineData(Head + "color: blue\n", "web.yaml:3:1: unknown key 'color' (allowed keys: name, system, autostart, idmap, bindMounts, network, limits, stopTimeout, activation, ephemeral, nix)")]
    [InlineData(Head + "idmap: { size: 65536, bsae: 131072 }\n", "web.yaml:3:23: unknown key 'bsae' in idmap (allowed keys: size, base)")]
    [InlineData(Head + "autostart: yes\n", "web.yaml:3:12: autostart must be true or false, not 'yes'")]
    [InlineData(Head + "autostart: \"true\"\n", "web.yaml:3:12: autostart must be true or false, not the string \"true\"")]
    [InlineData(Head + "autostart: [true]\n", "web.yaml:3:12: autostart must be true or false, not a list")]
    [InlineData(Head + "idmap: 65536\n", "web.yaml:3:8: idmap must be a mapping, not '65536'")]
    [InlineData(Head + "idmap: { size: 64k }\n", "web.yaml:3:16: idmap.size must be an integer, not '64k'")]
    [InlineData(Head + "bindMounts: { host: /srv, container: /srv }\n", "web.yaml:3:13: bindMounts must be a list, not a mapping")]
    // system
    [InlineData("name: web\n", "web.yaml:1:1: system is required: give system.nix (a Nix file to build), system.flake (PATH#NAME) or system.path (a store path)")]
    [InlineData("name: web\nsystem:\n  nix: { file: /etc/web.nix }\n  path: " + Store + "\n", "web.yaml:3:3: system has both nix and path; give exactly one")]
    [InlineData("name: web\nsystem: {}\n", "web.yaml:2:9: system needs nix (a Nix file to build), flake (PATH#NAME) or path (a store path)")]
    [InlineData("name: web\nsystem: { flake: /srv/web }\n", "web.yaml:2:18: system.flake '/srv/web' names no configuration: write PATH#NAME, e.g. /srv/web#web")]
    [InlineData("name: web\nsystem: { flake: \"web#web\" }\n", "web.yaml:2:18: system.flake path 'web' is not an absolute path (only a local flake directory is built)")]
    [InlineData("name: web\nsystem: { flake: \"github:o/r#web\" }\n", "web.yaml:2:18: system.flake path 'github:o/r' is not an absolute path (only a local flake directory is built)")]
    [InlineData("name: web\nsystem: { flake: \"/srv/web#\" }\n", "web.yaml:2:18: system.flake '/srv/web#': after '#' comes a configuration name or an attribute path (letters, digits, '_', '-', '.')")]
    [InlineData("name: web\nsystem: { flake: \"/srv/web#a b\" }\n", "web.yaml:2:18: system.flake '/srv/web#a b': after '#' comes a configuration name or an attribute path (letters, digits, '_', '-', '.')")]
    [InlineData("name: web\nsystem: { flake: \"/srv/web#web\", path: " + Store + " }\n", "web.yaml:2:9: system has both flake and path; give exactly one")]
    [InlineData("name: web\nsystem: { nix: { file: web.nix } }\n", "web.yaml:2:24: system.nix.file 'web.nix' is not an absolute path")]
    [InlineData("name: web\nsystem: { nix: { attr: system } }\n", "web.yaml:2:16: system.nix.file is required: the Nix file that evaluates to the system")]
    [InlineData("name: web\nsystem: { nix: { file: /w.nix, attr: a b } }\n", "web.yaml:2:38: system.nix.attr 'a b' must be an attribute path such as 'system', without spaces")]
    [InlineData("name: web\nsystem: { nix: { file: /w.nix, args: { 2x: y } } }\n", "web.yaml:2:40: system.nix.args key '2x' is not a Nix identifier (a letter or '_', then letters, digits, '_', ''' or '-')")]
    [InlineData("name: web\nsystem: { nix: { file: /w.nix, args: { x: [y] } } }\n", "web.yaml:2:43: system.nix.args.x must be a string, not a list")]
    [InlineData("name: web\nsystem: { path: /opt/system }\n", "web.yaml:2:17: system.path '/opt/system' is not a store path such as /nix/store/<32-character hash>-nixos-system-web")]
    [InlineData("name: web\nsystem: { path: " + Store + "/bin }\n", "web.yaml:2:17: system.path '" + Store + "/bin' is not a store path such as /nix/store/<32-character hash>-nixos-system-web")]
    [InlineData("name: web\nsystem: { path: /nix/store/0123456789abcdfghijklmnpqrsvwxyz-.. }\n", "web.yaml:2:17: system.path '/nix/store/0123456789abcdfghijklmnpqrsvwxyz-..' is not a store path such as /nix/store/<32-character hash>-nixos-system-web")]
    // idmap
    [InlineData(Head + "idmap: { size: 1000 }\n", "web.yaml:3:16: idmap.size 1000 is not a multiple of 65536")]
    [InlineData(Head + "idmap: { size: 0 }\n", "web.yaml:3:16: idmap.size 0 is not a positive multiple of 65536")]
    [InlineData(Head + "idmap: { size: 4294967296 }\n", "web.yaml:3:16: idmap.size 4294967296 is larger than the id space allows (4294901760)")]
    [InlineData(Head + "idmap: { base: 0 }\n", "web.yaml:3:16: idmap.base 0 would make the container's root the host's root; leave base out or pick a range in the pool")]
    [InlineData(Head + "idmap: { base: 100000 }\n", "web.yaml:3:16: idmap.base 100000 is not a multiple of 65536")]
    [InlineData(Head + "idmap: { base: 4294901760 }\n", "web.yaml:3:16: idmap.base 4294901760 + idmap.size 65536 reach past the last usable id (4294967294)")]
    // bindMounts
    [InlineData(Head + "bindMounts:\n  - { host: /srv, container: /nix/store }\n", "web.yaml:4:30: bindMounts[0].container '/nix/store' would shadow the read-only Nix store")]
    [InlineData(Head + "bindMounts:\n  - { host: /srv, container: /nix/store/abc }\n", "web.yaml:4:30: bindMounts[0].container '/nix/store/abc' would shadow the read-only Nix store")]
    [InlineData(Head + "bindMounts:\n  - { host: /srv, container: /nix }\n", "web.yaml:4:30: bindMounts[0].container '/nix' would shadow the read-only Nix store")]
    [InlineData(Head + "bindMounts:\n  - { host: /srv, container: /nix/var/nix/profiles }\n", "web.yaml:4:30: bindMounts[0].container '/nix/var/nix/profiles' would shadow the container's system profile")]
    [InlineData(Head + "bindMounts:\n  - { host: /srv, container: /proc/sys }\n", "web.yaml:4:30: bindMounts[0].container '/proc/sys' would shadow the kernel's /proc")]
    [InlineData(Head + "bindMounts:\n  - { host: /srv, container: / }\n", "web.yaml:4:30: bindMounts[0].container '/' would hide the container's whole root file system")]
    [InlineData(Head + "bindMounts:\n  - { host: srv/web, container: /srv }\n", "web.yaml:4:13: bindMounts[0].host 'srv/web' is not an absolute path")]
    [InlineData(Head + "bindMounts:\n  - { host: /srv/../etc, container: /srv }\n", "web.yaml:4:13: bindMounts[0].host '/srv/../etc' must not contain '.' or '..' segments")]
    [InlineData(Head + "bindMounts:\n  - { host: /srv/, container: /srv }\n", "web.yaml:4:13: bindMounts[0].host '/srv/' is not normalized: remove any '//' and the trailing '/'")]
    [InlineData(Head + "bindMounts:\n  - { host: '/srv,ro', container: /srv }\n", "web.yaml:4:13: bindMounts[0].host '/srv,ro' must not contain whitespace, '\\' or ','")]
    [InlineData(Head + "bindMounts:\n  - { host: /srv }\n", "web.yaml:4:5: bindMounts[0].container is required")]
    [InlineData(Head + "bindMounts:\n  - /srv:/srv\n", "web.yaml:4:5: bindMounts[0] must be a mapping, not '/srv:/srv'")]
    [InlineData(Head + "bindMounts:\n  - { host: /a, container: /srv }\n  - { host: /b, container: /srv }\n", "web.yaml:5:28: bindMounts[1].container '/srv' is already the target of bindMounts[0]")]
    // network
    [InlineData(Head + "network: { bridge: br0 }\n", "web.yaml:3:20: network.bridge needs network.mode veth")]
    [InlineData(Head + "network: { mode: bridge }\n", "web.yaml:3:18: network.mode must be one of none, veth, not 'bridge'")]
    [InlineData(Head + "network: { mode: veth }\n", "web.yaml:3:10: network.mode veth needs network.bridge, or network.hostAddress and network.localAddress")]
    [InlineData(Head + "network: { mode: veth, bridge: this-name-is-too-long }\n", "web.yaml:3:32: network.bridge 'this-name-is-too-long' is not an interface name: 1 to 15 letters, digits, '_', '.' or '-'")]
    [InlineData(Head + "network: { mode: veth, bridge: br0, hostAddress: 10.0.0.1/24 }\n", "web.yaml:3:50: network.hostAddress is the host end of a point-to-point link; it cannot be combined with network.bridge")]
    [InlineData(Head + "network: { mode: veth, hostAddress: 10.0.0.1/24 }\n", "web.yaml:3:37: network.hostAddress needs network.localAddress, the container's end of the link")]
    [InlineData(Head + "network: { mode: veth, bridge: br0, localAddress: 10.0.0.256/24 }\n", "web.yaml:3:51: network.localAddress '10.0.0.256/24' is not an IPv4 address with a prefix length, such as 10.233.1.2/24")]
    [InlineData(Head + "network: { mode: veth, bridge: br0, localAddress: 10.0.0.2 }\n", "web.yaml:3:51: network.localAddress '10.0.0.2' is not an IPv4 address with a prefix length, such as 10.233.1.2/24")]
    [InlineData(Head + "network: { mode: veth, bridge: br0, localAddress6: 10.0.0.2/24 }\n", "web.yaml:3:52: network.localAddress6 '10.0.0.2/24' is not an IPv6 address with a prefix length, such as fd00::2/64")]
    [InlineData(Head + "network: { mode: veth, bridge: br0, forwardPorts: [{ hostPort: 80 }] }\n", "web.yaml:3:51: network.forwardPorts needs network.localAddress (or localAddress6) to forward to")]
    [InlineData(Head + "network: { mode: veth, bridge: br0, localAddress: 10.0.0.2/24, forwardPorts: [{ hostPort: 0 }] }\n", "web.yaml:3:91: network.forwardPorts[0].hostPort 0 is not a port number (1 to 65535)")]
    [InlineData(Head + "network: { mode: veth, bridge: br0, localAddress: 10.0.0.2/24, forwardPorts: [{ hostPort: 80, protocol: sctp }] }\n", "web.yaml:3:105: network.forwardPorts[0].protocol must be one of tcp, udp, not 'sctp'")]
    // limits, stopTimeout, activation
    [InlineData(Head + "limits: { memory: 512 MB }\n", "web.yaml:3:19: limits.memory '512 MB' is not a size such as 512M, 1G or 1073741824")]
    [InlineData(Head + "limits: { memory: 1M }\n", "web.yaml:3:19: limits.memory '1M' is below the minimum of 4M")]
    [InlineData(Head + "limits: { memory: 99999999999T }\n", "web.yaml:3:19: limits.memory '99999999999T' is not a size such as 512M, 1G or 1073741824")]
    [InlineData(Head + "limits: { cpus: 0 }\n", "web.yaml:3:17: limits.cpus 0 must be at least 0.01 and at most 1024")]
    // A quota below the kernel's least (1 ms per 100 ms period) makes LXC's start fail with EINVAL.
    [InlineData(Head + "limits: { cpus: 0.005 }\n", "web.yaml:3:17: limits.cpus 0.005 must be at least 0.01 and at most 1024")]
    [InlineData(Head + "limits: { cpus: 0.001 }\n", "web.yaml:3:17: limits.cpus 0.001 must be at least 0.01 and at most 1024")]
    [InlineData(Head + "limits: { cpus: two }\n", "web.yaml:3:17: limits.cpus must be a number, not 'two'")]
    [InlineData(Head + "limits: { pids: 0 }\n", "web.yaml:3:17: limits.pids 0 must be at least 1")]
    [InlineData(Head + "stopTimeout: soon\n", "web.yaml:3:14: stopTimeout 'soon' is not a duration such as 30s, 2m, 1500ms or 30 (seconds)")]
    [InlineData(Head + "stopTimeout: 0s\n", "web.yaml:3:14: stopTimeout '0s' must be more than 0 and at most 1h")]
    [InlineData(Head + "stopTimeout: 61m\n", "web.yaml:3:14: stopTimeout '61m' must be more than 0 and at most 1h")]
    [InlineData(Head + "activation: reboot\n", "web.yaml:3:13: activation must be one of auto, switch, restart, none, not 'reboot'")]
    public void Bad_definitions_are_rejected_with_position_and_reason(string yaml, string expected)
    {
        Assert.Equal([expected], Errors(yaml));
    }

    [Fact]
    public void Every_problem_is_reported_in_file_order()
    {
        const string yaml = "name: Web\nsystem: { path: /opt/system }\nidmap: { size: 1000 }\nautostart: yes\n";

        Assert.Equal(
            [
                "web.yaml:1:7: container name 'Web' is not valid: use a lower-case letter followed by lower-case letters, digits and '-'",
                "web.yaml:2:17: system.path '/opt/system' is not a store path such as /nix/store/<32-character hash>-nixos-system-web",
                "web.yaml:3:16: idmap.size 1000 is not a multiple of 65536",
                "web.yaml:4:12: autostart must be true or false, not 'yes'",
            ],
            Errors(yaml));
    }

    [Fact]
    public void The_exception_message_lists_every_problem()
    {
        var e = Assert.Throws<InvalidDefinitionException>(() => DefinitionParser.Parse(Head + "idmap: { size: 0 }\nautostart: 1\n", "web.yaml"));

        Assert.Equal(
            "web.yaml:3:16: idmap.size 0 is not a positive multiple of 65536; web.yaml:4:12: autostart must be true or false, not '1'",
            e.Message);
        Assert.Equal(ContainerD.Domain.ErrorKind.InvalidDefinition, e.Kind);
    }

    [Fact]
    public void The_name_must_match_the_callers()
    {
        Assert.Equal(["web.yaml:1:7: name 'web' does not match the container name 'db'"], Errors(Head, expectedName: "db"));
    }

    [Fact]
    public void Without_a_name_from_the_caller_the_name_is_required()
    {
        Assert.Equal(["web.yaml:1:1: name is required"], Errors($"system: {{ path: {Store} }}\n"));
    }

    [Fact]
    public void A_document_over_1_MiB_is_rejected_before_parsing()
    {
        var yaml = Head + "# " + new string('x', 10 << 20);

        var errors = Errors(yaml);

        Assert.Equal([$"web.yaml: the document is {yaml.Length} bytes long; the limit is 1048576 bytes (1 MiB)"], errors);
    }

    [Fact]
    public void The_size_limit_counts_UTF8_bytes()
    {
        // 600 000 'é' are 600 000 chars but 1 200 000 bytes.
        var yaml = Head + "# " + new string('é', 600_000);

        Assert.Equal([$"web.yaml: the document is {yaml.Length + 600_000} bytes long; the limit is 1048576 bytes (1 MiB)"], Errors(yaml));
    }

    [Fact]
    public void An_alias_bomb_is_read_without_expanding_it()
    {
        // Nine levels of nine-fold aliases: 387 million strings if expanded.
        var yaml = Head + "x: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
        for (var i = 1; i < 10; i++)
            yaml += $"x{i}: &a{i} [{string.Join(", ", Enumerable.Repeat($"*a{i - 1}", 9))}]\n";
        yaml += "bindMounts: *a9\n";

        var errors = Errors(yaml);

        // Unknown keys x, x1…x9, then one error per bind mount item: each is a list, not a mapping.
        Assert.Equal(19, errors.Length);
        Assert.StartsWith("web.yaml:3:1: unknown key 'x'", errors[0]);
        // An alias reports where its anchor is: x8's list, on line 11.
        Assert.Equal("web.yaml:11:5: bindMounts[0] must be a mapping, not a list", errors[9]);
    }

    [Fact]
    public void An_alias_bomb_as_a_key_is_refused_before_it_is_hashed()
    {
        var yaml = Head + "x: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
        for (var i = 1; i < 10; i++)
            yaml += $"x{i}: &a{i} [{string.Join(", ", Enumerable.Repeat($"*a{i - 1}", 9))}]\n";
        yaml += "? *a9\n: 1\n";

        Assert.Equal(["web.yaml:13:3: a key must be a plain value, not a mapping, a list or an alias"], Errors(yaml));
    }

    [Fact]
    public void Deep_nesting_is_refused_early()
    {
        // YamlDotNet's scanner is quadratic in flow nesting: this would take minutes to read.
        var yaml = Head + "x: " + new string('[', 400_000) + new string(']', 400_000);

        Assert.Equal(["web.yaml:3:67: the document is nested more than 64 levels deep"], Errors(yaml));
    }

    [Fact]
    public void A_flood_of_errors_is_cut_short()
    {
        var yaml = Head + "bindMounts: [" + string.Join(", ", Enumerable.Repeat("x", 1000)) + "]\n";

        var errors = Errors(yaml);

        Assert.Equal(101, errors.Length);
        Assert.Equal("web.yaml: … and 900 more problems", errors[^1]);
    }

    [Fact]
    public void Hash_is_lower_case_hex_sha256_of_the_text()
    {
        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", DefinitionHash.Of(""));
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", DefinitionHash.Of("abc"));
        Assert.NotEqual(DefinitionHash.Of(Head), DefinitionHash.Of(Head + "\n"));
    }
}
