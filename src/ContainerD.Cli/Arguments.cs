namespace ContainerD.Cli;

/// <summary>A command's arguments: positional words and --options, parsed by hand to keep start-up small.</summary>
public sealed class Arguments(string command, List<string> words)
{
    private readonly List<string> _words = words;

    public string Command { get; } = command;

    /// <summary>Takes a flag such as --force; true when present.</summary>
    public bool Flag(string name) => _words.Remove(name);

    /// <summary>Takes an option with a value, e.g. -f FILE; null when absent.</summary>
    public string? Option(params string[] names)
    {
        int i = _words.FindIndex(names.Contains);
        if (i < 0)
        {
            return null;
        }
        if (i + 1 >= _words.Count)
        {
            throw Usage($"{_words[i]} needs a value");
        }
        string value = _words[i + 1];
        _words.RemoveRange(i, 2);
        return value;
    }

    /// <summary>Takes every occurrence of an option with two values, e.g. --arg K V.</summary>
    public List<(string, string)> Pairs(string name)
    {
        var pairs = new List<(string, string)>();
        int i;
        while ((i = _words.IndexOf(name)) >= 0)
        {
            if (i + 2 >= _words.Count)
            {
                throw Usage($"{name} needs a name and a value");
            }
            pairs.Add((_words[i + 1], _words[i + 2]));
            _words.RemoveRange(i, 3);
        }
        return pairs;
    }

    /// <summary>Takes the next positional word.</summary>
    public string Positional(string what) => TryPositional() ?? throw Usage($"{what} is missing");

    /// <summary>Takes the next positional word, or null when there is none; a lone "-" (stdin or stdout) is one.</summary>
    public string? TryPositional()
    {
        int i = _words.FindIndex(w => !w.StartsWith('-') || w == "-");
        if (i < 0)
        {
            return null;
        }
        string value = _words[i];
        _words.RemoveAt(i);
        return value;
    }

    /// <summary>Takes "--" and every word after it, as they are; null when there is no "--".</summary>
    public List<string>? AfterDoubleDash()
    {
        int i = _words.IndexOf("--");
        if (i < 0)
        {
            return null;
        }
        var rest = _words.GetRange(i + 1, _words.Count - i - 1);
        _words.RemoveRange(i, _words.Count - i);
        return rest;
    }

    /// <summary>Fails on anything not taken: a typo must not be ignored silently.</summary>
    public void End()
    {
        if (_words.Count > 0)
        {
            throw Usage($"unexpected argument '{_words[0]}'");
        }
    }

    public CliException Usage(string problem) =>
        new(ExitCodes.InvalidInput, $"{Command}: {problem}; see 'containerctl {Command} --help'");
}
