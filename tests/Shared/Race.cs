namespace TrainingService.Tests.Shared;

/// <summary>
/// Runs a race again and again: each round releases its contenders at once (each waits at a
/// <see cref="Barrier"/> on a thread of its own, then runs) and names the outcome path the round
/// took, after checking that the outcome is the one allowed. A race test passes only when every
/// path it names happened: had the contenders in fact run one after the other, one path would never
/// show, and the test would prove nothing about the race — so that fails it.
/// </summary>
public static class Race
{
    /// <summary>
    /// Rounds until each of <paramref name="paths"/> was seen <paramref name="eachAtLeast"/> times
    /// (at least <paramref name="minRounds"/> rounds, at most <paramref name="maxRounds"/>); returns
    /// the count of each path. <paramref name="round"/> is given the round's number and a
    /// <see cref="Func{T, TResult}"/> that releases its contenders together and awaits them all.
    /// </summary>
    /// <param name="name">What races, for the <c>RACE-PATHS</c> line printed with the counts.</param>
    public static async Task<IReadOnlyDictionary<string, int>> RunAsync(
        IReadOnlyList<string> paths,
        Func<int, Func<IReadOnlyList<Func<Task<object?>>>, Task<object?[]>>, Task<string>> round,
        string name, int minRounds = 30, int maxRounds = 400, int eachAtLeast = 3)
    {
        var seen = paths.ToDictionary(p => p, _ => 0, StringComparer.Ordinal);
        var rounds = 0;
        while (rounds < maxRounds && (rounds < minRounds || seen.Values.Any(n => n < eachAtLeast)))
        {
            var path = await round(rounds, TogetherAsync);
            Assert.True(seen.ContainsKey(path), $"round {rounds} took the path '{path}', which is not one of {string.Join(", ", paths)}");
            seen[path]++;
            rounds++;
        }
        var counts = string.Join(", ", seen.Select(p => $"{p.Key} × {p.Value}"));
        Console.WriteLine($"RACE-PATHS {name}: {rounds} rounds: {counts}");
        Assert.True(seen.Values.All(n => n > 0),
            $"Not every outcome path happened in {rounds} rounds ({counts}): the contenders did not really race, so the test proves nothing.");
        return seen;
    }

    /// <summary>Starts each contender on a thread of its own, releases them together from a barrier, and awaits them all.</summary>
    public static async Task<object?[]> TogetherAsync(IReadOnlyList<Func<Task<object?>>> contenders)
    {
        using var barrier = new Barrier(contenders.Count);
        var running = contenders.Select(contender => Task.Factory.StartNew(() =>
        {
            barrier.SignalAndWait();
            return contender();
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap()).ToList();
        return await Task.WhenAll(running);
    }
}
