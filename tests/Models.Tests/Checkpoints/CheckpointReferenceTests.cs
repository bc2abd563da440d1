using TrainingService.Contracts.Architectures;
using TrainingService.Models.Architectures;
using TrainingService.Contracts.Checkpoints;
using TrainingService.Models.Checkpoints;
using static TrainingService.Models.Tests.Checkpoints.CheckpointTestKit;

namespace TrainingService.Models.Tests.Checkpoints;

public sealed class CheckpointReferenceTests : IDisposable
{
    private readonly TemporaryStore temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void AnEmptyOrMissingStoreHasNoCheckpoints()
    {
        Assert.Empty(temp.Store.List());
        Assert.Null(temp.Store.Latest());
        Assert.Null(temp.Store.Resolve("final"));
        Assert.Null(temp.Store.Resolve("1"));
        temp.Store.CleanUpIncompleteWrites();
        Assert.False(Directory.Exists(temp.Folder));
    }

    [Fact]
    public void ListIsByEpochAndLatestIsTheHighest()
    {
        foreach (var epoch in new[] { 3, 1, 12 })
            SaveConvNet(temp.Store, epoch);

        Assert.Equal([1, 3, 12], temp.Store.List().Select(m => m.Epoch));
        Assert.Equal(12, temp.Store.Latest()!.Epoch);
    }

    [Fact]
    public void EpochNumbersLabelsAndAliasesResolve()
    {
        SaveConvNet(temp.Store, 1);
        SaveConvNet(temp.Store, 2);
        Assert.Null(temp.Store.Resolve(CheckpointStore.FinalAlias));

        temp.Store.SetAlias(CheckpointStore.FinalAlias, 2);
        temp.Store.SetAlias(CheckpointStore.BestAlias, 2);
        temp.Store.SetAlias(CheckpointStore.BestAlias, 1); // moved: replaced in place

        Assert.Equal(2, temp.Store.Resolve("final")!.Epoch);
        Assert.Equal(1, temp.Store.Resolve("best")!.Epoch);
        Assert.Equal(2, temp.Store.Resolve("2")!.Epoch);
        Assert.Equal(2, temp.Store.Resolve("0002")!.Epoch);
        Assert.Equal(1, temp.Store.Resolve("epoch-0001")!.Epoch);
        Assert.Null(temp.Store.Resolve("7"));
        Assert.Null(temp.Store.Resolve("epoch-0007"));
        Assert.Empty(temp.HiddenEntries());

        using var model = NewConvNet();
        Assert.Equal("epoch-0001", temp.Store.Load("best", ArchitectureCatalog.ConvNetName, model, null).Label);
    }

    [Fact]
    public void AnAliasCanOnlyPointAtACompleteCheckpoint()
    {
        SaveConvNet(temp.Store, 1);

        var error = Assert.Throws<CheckpointException>(() => temp.Store.SetAlias(CheckpointStore.FinalAlias, 2));
        Assert.Contains("no complete checkpoint epoch-0002", error.Message);
        Assert.Throws<ArgumentException>(() => temp.Store.SetAlias("latest", 1));
        Assert.Throws<ArgumentException>(() => temp.Store.SetAlias("../final", 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => temp.Store.SetAlias(CheckpointStore.FinalAlias, -1));
        Assert.Null(temp.Store.Resolve(CheckpointStore.FinalAlias));
    }

    [Fact]
    public void LoadingAnUnsetAliasOrAbsentEpochIsACheckpointError()
    {
        SaveConvNet(temp.Store, 1);
        using var model = NewConvNet();

        Assert.Contains("final is not set", Assert.Throws<CheckpointException>(() =>
            temp.Store.Load("final", ArchitectureCatalog.ConvNetName, model, null)).Message);
        Assert.Contains("no complete checkpoint epoch-0005", Assert.Throws<CheckpointException>(() =>
            temp.Store.Load("5", ArchitectureCatalog.ConvNetName, model, null)).Message);
    }

    [Fact]
    public void ADamagedAliasFileIsReported()
    {
        SaveConvNet(temp.Store, 1);
        File.WriteAllText(Path.Combine(temp.Folder, "best.json"), "{\"epoch\": \"../../etc\"}");

        var error = Assert.Throws<CheckpointException>(() => temp.Store.Resolve("best"));
        Assert.Contains("best.json", error.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("latest")]
    [InlineData("FINAL")]
    [InlineData("final.json")]
    [InlineData("../x")]
    [InlineData("epoch-0003/../../")]
    [InlineData("epoch-0003/")]
    [InlineData("./epoch-0003")]
    [InlineData("/etc/passwd")]
    [InlineData("epoch-3")]
    [InlineData("epoch-00003")]
    [InlineData("Epoch-0003")]
    [InlineData(".epoch-0003.tmp-0123456789abcdef0123456789abcdef")]
    [InlineData("-1")]
    [InlineData("+3")]
    [InlineData(" 3")]
    [InlineData("3 ")]
    [InlineData("3.0")]
    [InlineData("12345")]
    [InlineData("٣")] // ARABIC-INDIC DIGIT THREE: a digit to char.IsDigit, not to us
    [InlineData("3\0")]
    public void AnythingElseIsRejected(string reference)
    {
        using var model = NewConvNet();

        Assert.Throws<ArgumentException>(() => temp.Store.Resolve(reference));
        Assert.Throws<ArgumentException>(() => temp.Store.Load(reference, ArchitectureCatalog.ConvNetName, model, null));
    }
}
