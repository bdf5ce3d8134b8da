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
