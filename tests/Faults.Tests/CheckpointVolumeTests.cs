using System.Security.Cryptography;
using System.Text.Json.Nodes;
using TrainingService.Faults.Tests.Infrastructure;

namespace TrainingService.Faults.Tests;

/// <summary>
/// The checkpoint volume fails under a running job: it fills up, or it turns read-only. The
/// mechanism is real — a size-limited tmpfs of the test's own, filled with a file until the kernel
/// answers ENOSPC, or remounted read-only (EROFS) — which needs root: permissions alone do not stop
/// root from writing. Without root the test fails saying so, rather than passing untested.
/// The job retries once (Worker__MaxAttempts=2), then fails with an error that names the problem;
/// no half-written checkpoint is left and the checkpoints written before stay intact.
/// </summary>
public sealed class CheckpointVolumeTests(ITestOutputHelper output)
{
    private const int Epochs = 3;

    [Theory]
    [InlineData("full")]
    [InlineData("read-only")]
    public async Task AJobWhoseCheckpointVolumeFailsEndsFailedSayingWhyAndKeepsItsEarlierCheckpointsIntact(string failure)
    {
        Assert.True(Environment.UserName == "root" || Mount.IsRoot(),
            "This test mounts a size-limited tmpfs to give the worker a really full (or read-only) checkpoint volume, and that needs root. " +
            "Run it as root (CI does), or in a container with CAP_SYS_ADMIN.");
        var volume = Directory.CreateTempSubdirectory("trainingservice-faults-volume-").FullName;
        await Mount.RunAsync("mount", "-t", "tmpfs", "-o", "size=64m,mode=0755", "tmpfs", volume);
        try
        {
            await using var rig = await FaultRig.StartOnPostgresAsync(output, new Dictionary<string, string>
            {
                ["Worker__MaxAttempts"] = "2",
            }, checkpointRoot: volume);
            rig.StartWorker("worker-volume");
            var id = await rig.SubmitAsync($"volume-{failure}", Epochs, trainSubset: 2000);
            await rig.WaitUntilAsync(async () => (await rig.CheckpointsAsync(id)).Count >= 1, "the first checkpoint", FaultRig.JobTimeout);

            if (failure == "full")
                await Mount.FillAsync(Path.Combine(volume, "filler"));
            else
                await Mount.RunAsync("mount", "-o", "remount,ro", volume);

            var failed = await rig.WaitForJobAsync(id, FaultRig.IsTerminal, "finished");
            Assert.Equal("failed", (string)failed["status"]!);
            Assert.Equal(2, (int)failed["attempt"]!); // retried once, as configured, then given up
            Assert.Equal("infrastructure", (string)failed["error"]!["kind"]!);
            var message = (string)failed["error"]!["message"]!;
            Assert.Contains(failure == "full" ? "is full" : "is read-only", message);
            Assert.Contains("Attempt 2 of 2", message);

            // What is on the volume: every checkpoint folder complete and matching its manifest, no staging leftovers.
            var listed = await rig.CheckpointsAsync(id);
            Assert.NotEmpty(listed);
            var jobFolder = Path.Combine(volume, Guid.Parse(id).ToString("N")); // Checkpoints:Root/<job id without dashes>
            var leftovers = Directory.EnumerateFileSystemEntries(jobFolder, ".*").ToList();
            if (failure == "full") Assert.Empty(leftovers); // a read-only volume keeps whatever was there when it turned read-only
            var intact = 0;
            foreach (var checkpoint in listed)
            {
                var folder = Path.Combine(jobFolder, $"epoch-{(int)checkpoint!["epoch"]!:D4}");
                var manifest = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(folder, "manifest.json")))!;
                foreach (var file in manifest["files"]!.AsArray())
                {
                    var bytes = await File.ReadAllBytesAsync(Path.Combine(folder, (string)file!["name"]!));
                    Assert.Equal((long)file["sizeBytes"]!, bytes.LongLength);
                    Assert.Equal((string)file["sha256"]!, Convert.ToHexStringLower(SHA256.HashData(bytes)));
                }
                intact++;
            }
            // And the API still serves them.
            using var download = await rig.Http.GetAsync($"/jobs/{id}/checkpoints/{(int)listed[0]!["epoch"]!}");
            Assert.True(download.IsSuccessStatusCode, $"downloading a kept checkpoint answered {(int)download.StatusCode}");

            output.WriteLine($"error.message: {message}");
            await rig.ReportAsync($"checkpoint volume {failure}", [(id, intact)], new Dictionary<string, object>
            {
                ["checkpointsIntact"] = intact,
                ["stagingLeftovers"] = leftovers.Count,
                ["attempts"] = (int)failed["attempt"]!,
            });
        }
        finally
        {
            await Mount.RunAsync("umount", "-l", volume);
            Directory.Delete(volume, recursive: true);
        }
    }
}
