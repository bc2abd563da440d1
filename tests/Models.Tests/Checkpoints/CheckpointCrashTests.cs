using TrainingService.Contracts.Architectures;
using TrainingService.Models.Architectures;
using TrainingService.Contracts.Checkpoints;
using TrainingService.Models.Checkpoints;
using static TrainingService.Models.Tests.Checkpoints.CheckpointTestKit;

namespace TrainingService.Models.Tests.Checkpoints;

/// <summary>
/// What an interrupted save leaves behind, recreated by hand: the folder states a crash can produce
/// between the steps of <see cref="CheckpointStore.Save"/>.
/// </summary>
public sealed class CheckpointCrashTests : IDisposable
{
    private readonly TemporaryStore temp = new();

    public void Dispose() => temp.Dispose();

    private string Hidden(string label, string kind) =>
        Path.Combine(temp.Folder, $".{label}.{kind}-{Guid.NewGuid():N}");

    private static void AssertLoads(CheckpointStore store, string reference)
    {
        using var model = NewConvNet();
        using var optimizer = NewAdam(model);
        store.Load(reference, ArchitectureCatalog.ConvNetName, model, optimizer);
    }

    /// <summary>Saves epoch <paramref name="epoch"/> in a scratch store and moves its folder to <paramref name="destination"/>.</summary>
    private static CheckpointManifest SaveElsewhereAndMove(int epoch, string destination)
    {
        using var scratch = new TemporaryStore();
        var manifest = SaveConvNet(scratch.Store, epoch);
        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        Directory.Move(scratch.CheckpointFolder(epoch), destination);
        return manifest;
    }

    [Fact]
    public void AHalfWrittenStagingFolderIsIgnoredAndRemovedByTheNextSave()
    {
        var first = SaveConvNet(temp.Store, 1);
        // Crashed while writing the weights of epoch 2: a partial file, no manifest.
        var staging = Hidden("epoch-0002", "tmp");
        Directory.CreateDirectory(staging);
        File.WriteAllBytes(Path.Combine(staging, CheckpointStore.ModelFileName), new byte[1000]);

        Assert.Equal([1], temp.Store.List().Select(m => m.Epoch));
        Assert.Equal(first.CreatedAt, temp.Store.Latest()!.CreatedAt);
        Assert.Null(temp.Store.Resolve("2"));
        AssertLoads(temp.Store, "1");

        SaveConvNet(temp.Store, 2);

        Assert.False(Directory.Exists(staging));
        Assert.Empty(temp.HiddenEntries());
        Assert.Equal([1, 2], temp.Store.List().Select(m => m.Epoch));
        AssertLoads(temp.Store, "2");
    }

    [Fact]
    public void AStagingFolderWithoutItsManifestIsNotACheckpoint()
    {
        // Crashed after the data files but before the manifest.
        var staging = Hidden("epoch-0001", "tmp");
        SaveElsewhereAndMove(1, staging);
        File.Delete(Path.Combine(staging, CheckpointStore.ManifestFileName));

        Assert.Empty(temp.Store.List());
        Assert.Null(temp.Store.Latest());

        temp.Store.CleanUpIncompleteWrites();

        Assert.Empty(temp.HiddenEntries());
        Assert.Empty(temp.Store.List());
    }

    [Fact]
    public void ALeftoverCopyBesideTheCheckpointIsIgnoredAndTheCheckpointKept()
    {
        // Crashed after the swap, before deleting the replaced copy (which is complete).
        var current = SaveConvNet(temp.Store, 1);
        SaveElsewhereAndMove(1, Hidden("epoch-0001", "tmp"));
        SaveElsewhereAndMove(1, Hidden("epoch-0001", "trash"));

        Assert.Equal(current.CreatedAt, Assert.Single(temp.Store.List()).CreatedAt);

        temp.Store.CleanUpIncompleteWrites();

        Assert.Empty(temp.HiddenEntries());
        Assert.Equal(current.Files, temp.Store.Resolve("1")!.Files);
        AssertLoads(temp.Store, "1");
    }

    [Fact]
    public void ACrashBetweenTheTwoRenamesOfAReplacementRecoversTheNewCopy()
    {
        // The fallback replacement renames old → trash, then staging → label; crashed in between.
        SaveConvNet(temp.Store, 1);
        Directory.Move(temp.CheckpointFolder(1), Hidden("epoch-0001", "trash"));
        var replacement = SaveElsewhereAndMove(1, Hidden("epoch-0001", "tmp"));

        temp.Store.CleanUpIncompleteWrites();

        Assert.Empty(temp.HiddenEntries());
        Assert.Equal(replacement.Files, temp.Store.Resolve("1")!.Files);
        AssertLoads(temp.Store, "1");
    }

    [Fact]
    public void ACrashBeforeTheNewCopyWasCompleteRecoversTheOldOne()
    {
        var original = SaveConvNet(temp.Store, 1);
        Directory.Move(temp.CheckpointFolder(1), Hidden("epoch-0001", "trash"));
        var staging = Hidden("epoch-0001", "tmp");
        SaveElsewhereAndMove(1, staging);
        // The new copy is damaged (as if it had not reached the disk): it must not win.
        File.WriteAllBytes(Path.Combine(staging, CheckpointStore.ModelFileName), new byte[10]);

        SaveConvNet(temp.Store, 2); // Save runs the clean-up first.

        Assert.Empty(temp.HiddenEntries());
        Assert.Equal([1, 2], temp.Store.List().Select(m => m.Epoch));
        Assert.Equal(original.Files, temp.Store.Resolve("1")!.Files);
        AssertLoads(temp.Store, "1");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)] // the two-rename path of platforms without an atomic exchange
    public void SavingTheSameEpochAgainReplacesIt(bool atomicExchange)
    {
        var store = new CheckpointStore(temp.Folder) { UseAtomicExchange = atomicExchange };
        using var model = NewConvNet();
        using var optimizer = NewAdam(model);
        var (images, labels) = Batch();
        store.Save(2, ArchitectureCatalog.ConvNetName, Hyperparameters, Metrics(2), model, optimizer);
        store.SetAlias(CheckpointStore.BestAlias, 2);
        TrainStep(model, optimizer, images, labels);
        var newer = Metrics(2) with { TestAccuracy = 0.99 };

        var replaced = store.Save(2, ArchitectureCatalog.ConvNetName, Hyperparameters, newer, model, optimizer);

        Assert.Empty(temp.HiddenEntries());
        var listed = Assert.Single(store.List());
        Assert.Equal(newer, listed.Metrics);
        Assert.Equal(replaced.Files, store.Resolve(CheckpointStore.BestAlias)!.Files);
        using var restored = NewConvNet();
        using var restoredOptimizer = NewAdam(restored);
        store.Load("best", ArchitectureCatalog.ConvNetName, restored, restoredOptimizer);
        AssertSameState(Snapshot(model), restored);
    }

    [Fact]
    public void CleanUpRemovesStrayAliasTemporariesButLeavesForeignEntriesAlone()
    {
        SaveConvNet(temp.Store, 1);
        var aliasTemporary = Path.Combine(temp.Folder, $".final.json.tmp-{Guid.NewGuid():N}");
        File.WriteAllText(aliasTemporary, "{\"ep");
        var foreignFolder = Path.Combine(temp.Folder, ".epoch-0001.tmp-not-a-guid");
        var foreignFile = Path.Combine(temp.Folder, ".keep");
        Directory.CreateDirectory(foreignFolder);
        File.WriteAllText(foreignFile, "");

        temp.Store.CleanUpIncompleteWrites();

        Assert.False(File.Exists(aliasTemporary));
        Assert.True(Directory.Exists(foreignFolder));
        Assert.True(File.Exists(foreignFile));
        Assert.Null(temp.Store.Resolve(CheckpointStore.FinalAlias));
    }
}
