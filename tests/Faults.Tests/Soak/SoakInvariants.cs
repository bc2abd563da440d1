using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using TrainingService.Faults.Tests.Infrastructure;

namespace TrainingService.Faults.Tests.Soak;

/// <summary>
/// What must hold once the soak's jobs have ended, each checked from the records the service keeps
/// (the API's answers, its PostgreSQL tables, the checkpoint volume, the processes' logs):
/// <list type="number">
/// <item>every job ended, and succeeded — or failed for a documented reason: an infrastructure
/// failure in its last allowed attempt (<c>Worker__MaxAttempts</c>);</item>
/// <item>no job was lost: every job submitted is there and ended;</item>
/// <item>no epoch was trained twice: each recorded once, by an attempt of the job, with its
/// optimizer steps summed over attempts equal to the epoch's (<c>FaultRig.ReportAsync</c> asserts
/// it with <see cref="Tests.Shared.EpochInvariants"/>);</item>
/// <item>every job's figures are bit-identical to the same job run undisturbed (CPU determinism):
/// a training job's per-epoch metrics and result, an eval job's result and confusion matrix;</item>
/// <item>every attempt is accounted for, with a reason: the job lists one attempt per start
/// (numbered 1..n, each start also in a worker's log), each ended; every attempt but the last with
/// a reason the soak's faults explain (<c>worker-lost</c> for a killed or frozen worker,
/// <c>shutdown-handback</c> for a stopped one, <c>infrastructure-error</c> for the database or the
/// volume), and the last with the job's own <c>terminationReason</c>;</item>
/// <item>no orphaned temporary files (checkpoint staging or trash folders) on the checkpoint volume;</item>
/// <item>no Hangfire queue entry left processing (a killed or frozen worker's entry is redelivered
/// after Worker__InvisibilityTimeout and then ends).</item>
/// </list>
/// </summary>
internal sealed partial class SoakInvariants(FaultRig rig, ITestOutputHelper output)
{
    public List<string> Violations { get; } = [];

    public int FailedForADocumentedReason { get; private set; }

    public int FiguresCompared { get; private set; }

    public int OrphanedTemporaryFiles { get; private set; }

    public long HangfireProcessingLeft { get; private set; }

    public async Task CheckAsync(
        IReadOnlyDictionary<string, JobConfig> trains, IReadOnlyDictionary<string, string> evals,
        IReadOnlyDictionary<JobConfig, (JsonObject Train, JsonArray Metrics, JsonObject Eval)> references, string volume)
    {
        var startLog = string.Join("\n", rig.Processes.Where(p => p.Name.StartsWith("soak-worker-", StringComparison.Ordinal)).Select(p => p.Process.Output));
        foreach (var (id, config) in trains)
        {
            var job = await rig.JobAsync(id);
            if (!EndedAsAllowed(id, job) || !Succeeded(job))
                continue;
            var (referenceJob, referenceMetrics, _) = references[config];
            var metrics = await rig.MetricsAsync(id);
            foreach (var field in new[] { "trainLoss", "trainAccuracy", "testLoss", "testAccuracy", "learningRate" })
                Compare(id, $"per-epoch {field}", referenceMetrics.Select(m => (double)m![field]!), metrics.Select(m => (double)m![field]!));
            Compare(id, "result", Result(referenceJob), Result(job));
            AccountForAttempts(id, job, startLog);
        }
        foreach (var (id, train) in evals)
        {
            var job = await rig.JobAsync(id);
            if (!EndedAsAllowed(id, job) || !Succeeded(job))
                continue;
            Compare(id, "result", Result(references[trains[train]].Eval), Result(job));
            AccountForAttempts(id, job, startLog);
        }

        // Staging (".epoch-0002.tmp-…", ".best.json.tmp-…") and trash folders: a write in progress, never one that ended.
        var orphans = Directory.EnumerateFileSystemEntries(volume, "*", SearchOption.AllDirectories)
            .Where(path => Path.GetFileName(path) is var name && (name.Contains(".tmp-", StringComparison.Ordinal) || name.Contains(".trash-", StringComparison.Ordinal)))
            .ToList();
        OrphanedTemporaryFiles = orphans.Count;
        Violations.AddRange(orphans.Select(o => $"orphaned temporary file on the checkpoint volume: {o}"));

        // A dead or frozen worker's entry is handed out again after the invisibility timeout (20 s) and then ends.
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while ((HangfireProcessingLeft = await rig.HangfireJobsInStateAsync("Processing")) > 0 && DateTime.UtcNow < deadline)
            await Task.Delay(1000);
        if (HangfireProcessingLeft > 0)
            Violations.Add($"{HangfireProcessingLeft} Hangfire queue entries still processing two minutes after every job ended");
        output.WriteLine($"soak invariants: {Violations.Count} broken, {FiguresCompared} figures compared bit for bit, {FailedForADocumentedReason} failed for a documented reason");
    }

    private static bool Succeeded(JsonObject job) => (string)job["status"]! == "succeeded";

    /// <summary>Succeeded; or failed as an infrastructure failure in its last attempt, which Worker__MaxAttempts allows. Anything else breaks the invariant.</summary>
    private bool EndedAsAllowed(string id, JsonObject job)
    {
        var status = (string)job["status"]!;
        if (status == "succeeded")
            return true;
        if (status == "failed" && (string?)job["error"]?["kind"] == "infrastructure" && ((string?)job["error"]?["message"] ?? "").Contains("Attempt", StringComparison.Ordinal))
        {
            FailedForADocumentedReason++;
            return true;
        }
        Violations.Add($"job {id} ended {status}, which no fault of the soak explains: {job.ToJsonString()}");
        return false;
    }

    private void Compare<T>(string id, string what, IEnumerable<T> expected, IEnumerable<T> actual)
    {
        var (e, a) = (expected.ToList(), actual.ToList());
        if (!e.SequenceEqual(a))
            Violations.Add($"job {id}: {what} differs from the undisturbed run's: expected [{string.Join(", ", e)}], got [{string.Join(", ", a)}]");
        else
            FiguresCompared += e.Count;
    }

    /// <summary>A result's figures, the confusion matrix's counts among them.</summary>
    private static IEnumerable<string> Result(JsonObject job)
    {
        var result = job["result"]!;
        yield return ((double)result["finalTestAccuracy"]!).ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        yield return ((double)result["finalTestLoss"]!).ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        yield return result["confusionMatrix"]?.ToJsonString() ?? "";
    }

    /// <summary>Reasons an attempt other than the last may end with under the soak's faults: each hands the job back.</summary>
    private static readonly HashSet<string> HandBackReasons = ["worker-lost", "shutdown-handback", "infrastructure-error"];

    /// <summary>How the attempts of the jobs checked ended, by reason (the soak's figures).</summary>
    public SortedDictionary<string, int> AttemptReasons { get; } = new(StringComparer.Ordinal);

    /// <summary>Each attempt 1..n of the job is recorded, ended with a reason the faults explain, and its start is in a worker's log.</summary>
    private void AccountForAttempts(string id, JsonObject job, string log)
    {
        var count = (int)job["attempt"]!;
        var attempts = job["attempts"]!.AsArray().Select(a => a!.AsObject()).ToList();
        if (!attempts.Select(a => (int)a["number"]!).SequenceEqual(Enumerable.Range(1, count)))
            Violations.Add($"job {id} had {count} attempts, but lists [{string.Join(", ", attempts.Select(a => (int)a["number"]!))}]");
        for (var i = 0; i < attempts.Count; i++)
        {
            var (number, reason) = ((int)attempts[i]["number"]!, (string?)attempts[i]["reason"]);
            var last = i == attempts.Count - 1;
            if (reason is null || attempts[i]["endedAt"] is null)
                Violations.Add($"job {id}: attempt {number} has not ended, though the job has");
            else if (last && reason != (string?)job["terminationReason"])
                Violations.Add($"job {id}: its last attempt ended {reason}, the job {(string?)job["terminationReason"]}");
            else if (!last && !HandBackReasons.Contains(reason))
                Violations.Add($"job {id}: attempt {number} ended {reason}, which none of the soak's faults explains");
            AttemptReasons[reason ?? "none"] = AttemptReasons.GetValueOrDefault(reason ?? "none") + 1;
        }
        var started = AttemptStarted().Matches(log).Where(m => m.Groups["job"].Value == id).Select(m => int.Parse(m.Groups["attempt"].Value, System.Globalization.CultureInfo.InvariantCulture)).ToHashSet();
        var missing = Enumerable.Range(1, count).Where(n => !started.Contains(n)).ToList();
        if (missing.Count > 0)
            Violations.Add($"job {id} had {count} attempts, but no worker logged the start of attempt(s) {string.Join(", ", missing)}");
    }

    [GeneratedRegex(@"Job (?<job>[0-9a-f-]{36}) attempt (?<attempt>\d+) started on")]
    private static partial Regex AttemptStarted();
}
