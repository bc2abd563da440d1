using TrainingService.Contracts.Architectures;
using TrainingService.Models.Architectures;
using static TorchSharp.torch;

namespace TrainingService.Models.Tests.Architectures;

public class ArchitectureTests
{
    public static TheoryData<string> Names => new(ArchitectureCatalog.All.Select(a => a.Name));

    [Theory]
    [MemberData(nameof(Names))]
    public void StateDictMatchesThePyTorchKeysAndShapes(string name)
    {
        // The expected lists were derived from the notebook's PyTorch classes; the same keys and
        // shapes are what load_state_dict(strict=True) needs on the PyTorch side.
        var expected = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Architectures", $"statedict-{name}.txt"));
        using var model = ArchitectureCatalog.Get(name).Create();

        var actual = model.state_dict().Select(kv => $"{kv.Key} [{string.Join(", ", kv.Value.shape)}]").ToArray();

        Assert.Equal(expected.Order(StringComparer.Ordinal), actual.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("convnet", 390_410)]
    [InlineData("resnet18", 11_175_434)]
    [InlineData("attention", 191_754)]
    public void HasTheDocumentedParameterCount(string name, long expected)
    {
        var info = ArchitectureCatalog.Get(name);
        using var model = info.Create();

        var counted = model.parameters().Sum(p => p.numel());

        Assert.Equal(expected, counted);
        Assert.Equal(expected, info.ParameterCount);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void MapsABatchOfImagesToTenLogitsEach(string name)
    {
        using var scope = NewDisposeScope();
        var model = ArchitectureCatalog.Get(name).Create();
        model.eval();

        var logits = model.call(randn(5, 1, 28, 28));

        Assert.Equal([5L, 10L], logits.shape);
        Assert.True(logits.isfinite().all().item<bool>());
    }

    [Fact]
    public void AttentionWeightsAreASoftmaxOverKeys()
    {
        // With Q = K = V = identity maps, the output is softmax(x·xᵀ/√d)·x, computed here by hand.
        using var scope = NewDisposeScope();
        var attention = new SingleHeadSelfAttention(4);
        using (no_grad())
        {
            foreach (var (key, tensor) in attention.state_dict())
            {
                if (key.EndsWith("weight")) tensor.copy_(eye(4));
                else tensor.zero_();
            }
        }
        var x = randn(2, 3, 4);

        var expected = bmm(softmax(bmm(x, x.transpose(1, 2)) / 2.0, -1), x);

        Assert.True(allclose(attention.call(x), expected, rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void UnknownNameIsRejectedWithTheValidNames()
    {
        var error = Assert.Throws<ArgumentException>(() => ArchitectureCatalog.Get("vgg"));
        Assert.Contains("convnet, resnet18, attention", error.Message);
    }
}
