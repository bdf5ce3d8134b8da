using ContainerD.Os;

namespace ContainerD.Tests.Os;

public sealed class KernelFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("containerd-kernelfile-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_small_file_is_its_text_a_large_one_is_read_whole_and_a_missing_one_is_null()
    {
        string small = Path.Combine(_dir, "memory.current"), large = Path.Combine(_dir, "io.stat");
        File.WriteAllText(small, "13002342\n");
        string many = string.Concat(Enumerable.Range(0, 400).Select(i => $"254:{i} rbytes=1 wbytes=2 rios=1 wios=1\n"));
        File.WriteAllText(large, many);
        Assert.Equal("13002342\n", KernelFile.Read(small));
        Assert.True(many.Length > 8192);
        Assert.Equal(many, KernelFile.Read(large));
        Assert.Null(KernelFile.Read(Path.Combine(_dir, "gone")));
        // procfs's generated files read through pread the same (what GetUsage reads: /proc/PID/cgroup).
        Assert.Equal(File.ReadAllText("/proc/self/cgroup"), KernelFile.Read("/proc/self/cgroup"));
    }
}

public sealed class UsageFilesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("containerd-usagefiles-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_file_kept_open_reads_what_it_says_now_and_none_once_disposed()
    {
        string counter = Path.Combine(_dir, "memory.usage_in_bytes");
        File.WriteAllText(counter, "1\n");
        var files = new UsageFiles(pid: 4242);
        Assert.Equal("1\n", files.Read(counter));
        // Rewritten in place, as the kernel regenerates a counter's text at each read from offset 0.
        File.WriteAllText(counter, "12345\n");
        Assert.Equal("12345\n", files.Read(counter));
        // What was not there at the first read stays not there for this pid (a kernel without the file).
        string peak = Path.Combine(_dir, "memory.peak");
        Assert.Null(files.Read(peak));
        File.WriteAllText(peak, "7\n");
        Assert.Null(files.Read(peak));
        files.Dispose();
        Assert.Null(files.Read(counter));
    }
}
