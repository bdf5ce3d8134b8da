namespace ContainerD.IntegrationTests.Harness;

/// <summary>Waits for something that happens asynchronously (a signal, a state change), with a deadline.</summary>
public static class Eventually
{
    public static async Task TrueAsync(Func<bool> condition, string what, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(10));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{what} did not happen within {(within ?? TimeSpan.FromSeconds(10)).TotalSeconds} s");
            }
            await Task.Delay(20);
        }
    }

    public static async Task TrueAsync(Func<Task<bool>> condition, string what, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(10));
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{what} did not happen within {(within ?? TimeSpan.FromSeconds(10)).TotalSeconds} s");
            }
            await Task.Delay(20);
        }
    }
}
