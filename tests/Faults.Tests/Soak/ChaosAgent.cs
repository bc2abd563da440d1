using System.Diagnostics;
using System.Globalization;
using TrainingService.EndToEnd.Tests;
using TrainingService.Faults.Tests.Infrastructure;

namespace TrainingService.Faults.Tests.Soak;

/// <summary>
/// Injects the soak's fault schedule into the rig's real processes, one fault at a time, each undone
/// before the next (a killed process started again, a frozen one thawed, the database started, the
/// volume freed), for as long as the soak's jobs are unfinished. For every job a fault took from
/// its worker it measures the takeover: from the fault to the job's next attempt starting.
/// </summary>
internal sealed class ChaosAgent(FaultRig rig, SoakPlan plan, JobBoard board, string volume, ITestOutputHelper output)
{
    private readonly ServiceProcess[] workers = new ServiceProcess[SoakPlan.Workers + 1];
    private readonly List<Task> takeovers = [];
    private readonly Stopwatch clock = Stopwatch.StartNew();

    public Dictionary<FaultKind, int> Injected { get; } = Enum.GetValues<FaultKind>().ToDictionary(k => k, _ => 0);

    /// <summary>Seconds from a fault to the next attempt of each job it took from its worker (queueing behind other jobs included).</summary>
    public List<double> TakeoverSeconds { get; } = [];

    /// <summary>Seconds from a fault to its worker's job being handed back (no longer running under the attempt the fault hit).</summary>
    public List<double> HandBackSeconds { get; } = [];

    public static string WorkerName(int worker) => $"soak-worker-{worker}";

    public void StartWorkers()
    {
        for (var i = 1; i <= SoakPlan.Workers; i++)
            workers[i] = rig.StartWorker(WorkerName(i));
    }

    /// <summary>Runs the schedule until it ends or <paramref name="done"/> holds; every fault is undone before this returns.</summary>
    public async Task RunAsync(Func<bool> done)
    {
        foreach (var fault in plan.Faults)
        {
            await Task.Delay(fault.After);
            if (done())
                break;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{clock.Elapsed.TotalSeconds,6:F1}s] fault: {fault}"));
            await InjectAsync(fault);
            Injected[fault.Kind]++;
        }
        await Task.WhenAll(takeovers);
    }

    private async Task InjectAsync(Fault fault)
    {
        switch (fault.Kind)
        {
            case FaultKind.WorkerKill:
                Track(fault.Worker, fault.Kind);
                await workers[fault.Worker].KillAsync();
                await Task.Delay(fault.Hold);
                workers[fault.Worker] = rig.StartWorker(WorkerName(fault.Worker));
                break;
            case FaultKind.WorkerStop:
                Track(fault.Worker, fault.Kind);
                workers[fault.Worker].Signal("TERM");
                // Worker__ShutdownTimeout, and the host's 30 s beyond it; then it is a kill after all.
                if (!await workers[fault.Worker].WaitForExitAsync(TimeSpan.FromSeconds(60)))
                    await workers[fault.Worker].KillAsync();
                await Task.Delay(fault.Hold);
                workers[fault.Worker] = rig.StartWorker(WorkerName(fault.Worker));
                break;
            case FaultKind.WorkerFreeze:
                Track(fault.Worker, fault.Kind);
                workers[fault.Worker].Signal("STOP");
                try { await Task.Delay(fault.Hold); }
                finally { workers[fault.Worker].Signal("CONT"); }
                break;
            case FaultKind.ApiKill:
                await rig.Api.KillAsync();
                await Task.Delay(fault.Hold);
                await rig.StartApiAsync();
                break;
            case FaultKind.DatabaseOutage:
                await rig.Postgres!.StopAsync();
                try { await Task.Delay(fault.Hold); }
                finally { await rig.Postgres.StartAgainAsync(); }
                break;
            case FaultKind.VolumeFull:
                var filler = Path.Combine(volume, "filler");
                try
                {
                    await Mount.FillAsync(filler);
                    await Task.Delay(fault.Hold);
                }
                finally { File.Delete(filler); }
                break;
        }
    }

    /// <summary>Starts measuring the takeover of each job the worker is running now (as the board last saw it).</summary>
    private void Track(int worker, FaultKind kind)
    {
        var name = WorkerName(worker);
        var at = clock.Elapsed;
        foreach (var job in board.Jobs.Values.Where(j => (string)j["status"]! == "running" && (string?)j["worker"] == name))
        {
            var id = (string)job["id"]!;
            var attempt = (int)job["attempt"]!;
            takeovers.Add(Task.Run(async () =>
            {
                // Taken up again (a later attempt started), or ended without one (it finished before the fault landed).
                var handedBack = false;
                while (clock.Elapsed - at < plan.Timeout)
                {
                    if (board.Jobs.TryGetValue(id, out var now))
                    {
                        if (!handedBack && ((string)now["status"]! != "running" || (int)now["attempt"]! > attempt) && !JobBoard.IsTerminal(now))
                        {
                            handedBack = true;
                            lock (HandBackSeconds) HandBackSeconds.Add((clock.Elapsed - at).TotalSeconds);
                        }
                        if ((int)now["attempt"]! > attempt)
                        {
                            var seconds = (clock.Elapsed - at).TotalSeconds;
                            lock (TakeoverSeconds) TakeoverSeconds.Add(seconds);
                            if (!handedBack)
                                lock (HandBackSeconds) HandBackSeconds.Add(seconds);
                            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                                $"[{clock.Elapsed.TotalSeconds,6:F1}s] job {id} taken up again (attempt {(int)now["attempt"]!}, on {(string?)now["worker"]}) {seconds:F1} s after {name} was {kind}"));
                            return;
                        }
                        if (JobBoard.IsTerminal(now))
                            return;
                    }
                    await Task.Delay(250);
                }
            }));
        }
    }
}
