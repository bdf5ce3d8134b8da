using ContainerD.Contract;

namespace ContainerD.Tests.Contract;

/// <summary>Every key GetUsage may send is documented in docs/API.md's Container section.</summary>
public sealed class UsageKeysTests
{
    [Fact]
    public void Every_usage_key_and_interface_counter_is_in_the_api_reference()
    {
        string root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "ContainerD.sln")))
        {
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("no ContainerD.sln above the tests");
        }
        string api = File.ReadAllText(Path.Combine(root, "docs", "API.md"));
        int start = api.IndexOf("- `GetUsage() → a{sv} usage`", StringComparison.Ordinal);
        Assert.True(start >= 0, "docs/API.md documents GetUsage");
        string section = api[start..api.IndexOf("\n| property |", start, StringComparison.Ordinal)];
        foreach (string key in UsageKeys.Figures.Append(UsageKeys.Interfaces).Concat(InterfaceKeys.All))
        {
            Assert.Contains($"`{key}`", section);
        }
        Assert.Contains($"`{UsageKeys.InterfacesSignature}`", section);
    }
}
