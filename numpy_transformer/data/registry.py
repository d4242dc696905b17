"""The files the library knows: where each lives in a data folder, its sha256 and where to download it."""
from dataclasses import dataclass

__all__ = ["KnownFile", "REGISTRY", "register", "known_files"]


@dataclass(frozen=True)
class KnownFile:
    """One file: `path` inside a data folder, its `sha256`, and a download `url` (None: fetch by hand from `source`)."""
    path: str
    sha256: str
    url: str | None
    source: str = ""


REGISTRY: dict[str, KnownFile] = {}


def register(path: str, sha256: str, url: str | None, source: str = "") -> KnownFile:
    """Add (or replace) a known file; tests use it to point a file at a local server."""
    REGISTRY[path] = KnownFile(path, sha256, url, source)
    return REGISTRY[path]


def known_files(prefix: str = "") -> list[str]:
    """Paths of the known files that start with `prefix` (e.g. "mnist/"), sorted."""
    return sorted(p for p in REGISTRY if p.startswith(prefix))


_MNIST = "https://ossci-datasets.s3.amazonaws.com/mnist/"
for _name, _sha in [
    ("train-images-idx3-ubyte.gz", "0b367032e93c5d0cea0925647cfdb18614af8ee15f83e6f2fc2ad904a6835971"),
    ("train-labels-idx1-ubyte.gz", "1787548bbe0bff1ec2ecdc0ef292b02df999e2d1a6002d27500982c652b17203"),
    ("t10k-images-idx3-ubyte.gz", "1a1a05eab793c14bb050b398624a11b0ffd1a2953baed553b1b9bd079e2a20be"),
    ("t10k-labels-idx1-ubyte.gz", "b91679a0acfe4ba0e50a2437a903084cba1f5f92592b016a25a7dfd00455798b"),
]:
    register(f"mnist/{_name}", _sha, _MNIST + _name)

register("text/tinyshakespeare.txt",
         "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
         "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt")
register("text/quotes_jamesft.json",
         "e4bcc9278b1e2d53b331d195791ec660b10e3daa69e06518da282fe6fbba3e5f",
         "https://raw.githubusercontent.com/JamesFT/Database-Quotes-JSON/master/quotes.json")

_MULTI30K = "https://raw.githubusercontent.com/multi30k/dataset/master/data/task1/raw/"
for _name, _sha in [
    ("train.de.gz", "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6"),
    ("train.en.gz", "d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f"),
    ("train.fr.gz", "622e75069e9f4c577425c4f277116ce66e63a2401c0a2312d90073cb12379a3c"),
    ("val.de.gz", "f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a"),
    ("val.en.gz", "14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28"),
    ("val.fr.gz", "ca3106f1a72390591d25f6c45cb4cd39dec4cd3f123e099748a3ce5256c160e9"),
    ("test_2016_flickr.de.gz", "9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8"),
    ("test_2016_flickr.en.gz", "611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9"),
    ("test_2016_flickr.fr.gz", "6d326e188d259fb1d04ac19eae3af956559b3a0b93d7635e56c90987c40c8b90"),
]:
    register(f"text/multi30k/{_name}", _sha, _MULTI30K + _name)

_GPT2 = "https://openaipublic.blob.core.windows.net/gpt-2/models/124M/"
register("gpt2-tokenizer/encoder.json",
         "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783", _GPT2 + "encoder.json")
register("gpt2-tokenizer/vocab.bpe",
         "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5", _GPT2 + "vocab.bpe")

register("digits/digits.csv.gz",
         "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22",
         "https://raw.githubusercontent.com/scikit-learn/scikit-learn/main/sklearn/datasets/data/digits.csv.gz")

register("text/bible_kjv_en__rv1909_es.tsv.gz",
         "1fcf0de2298a1b5c1d1e1dff062780fe6a298efad57ceefede2e1c1ea9fc6d4f", None,
         "verse-aligned from the Debian packages sword-text-kjv and sword-text-sparv")

_FORTUNES_SOURCE = "the Debian packages fortunes and fortunes-min (/usr/share/games/fortunes)"
for _name, _sha in [
    ("art", "600b8197bc994fd4fcbb623aa5e700629540af44f044d4907886bd1031f160ce"),
    ("ascii-art", "818d0967629e0cd48b69c4b7e93645a7f80bba99ed4f1cd668f42b3d174b7431"),
    ("computers", "a86be224d9f733b88eeaf8a46ea0427e05cc69c69edcf5f6db47ddf561ca37fd"),
    ("cookie", "5dc97eee96dcc5287c373be629482730d45f77b59da1287933c9c5f482a055eb"),
    ("debian", "491dd04bf909b64152bcb554b9bc88df0ca50c0dc676d74d10742bf38aaa50de"),
    ("definitions", "57be4744c353d931fa2ca95f50215d4b67539f5a527ae628a6441fb4a1258caa"),
    ("disclaimer", "c085d66ea68686d5e28852cef77c3eeb3640895c5647b148deeaaada2c07fa7b"),
    ("drugs", "a5a59ee8b0e1fd3085a38dfa29149fe9a2c8d7f256b74aea71aa2cc08a9990c1"),
    ("education", "ba13321d6d6beb7a6e65296a47450bfc87b24a319fff2e94762011b59a31aa35"),
    ("ethnic", "61695cb9b60dbee91755027da1fa4f850f4c6386ff38197a48e4ff1696385e19"),
    ("food", "78077a65b9288df71e7b2a8e8258cd3b1005d1282f7c7e57ad53927f374df45d"),
    ("fortunes", "8819e6b83bacd6b7e8a4a2483f41e126b3b4b3ef8cd2aca907a53b163f082fd5"),
    ("goedel", "9d447862c803f22cdf7bb26cb70cca1a7f8a2a7992f2793ddcb43cfcf3302ab0"),
    ("humorists", "ffdf67e1f4049133bf904b769c364de45e5ae0abfb3ea7c9afb54b87b89acfc4"),
    ("kids", "82e51834990afd36f2ea2f25864b368e2f44f9c761aba034035b26061de6d5be"),
    ("knghtbrd", "c25e8373b38a6f159a7b1d336f363d5c962224a6ddcc86279dec47aad3c869b3"),
    ("law", "f04141f94e788b7899e0adb0490d182ce711f8fdbb8252343a5257e717e9279d"),
    ("linux", "85b0e5eadf7adeea77da4e1fbd456c962ce3bd1dabbd053098ecf37de9169cf3"),
    ("linuxcookie", "4f75959924ae5bb1955c30a5c985e641ec17cd5ebb7453d839f94b1988331202"),
    ("literature", "22eab7d53ce994d0466901bb0d799ae3289603e17dc0bdb7f16666931155c5a5"),
    ("love", "4d4fb7c540e5500e44643524dae41dd7d2b21b80be184253fd9f8541f6029fc5"),
    ("magic", "b9553a1d84d966db55a24a779206cc4565bf3686c9ecbc31215f654129e3166e"),
    ("medicine", "18b8c7b098e649024159c9d9f3e37a0832bbd2d5cf3e2317b313134761afd487"),
    ("men-women", "8fc4eb68a8d16826372d9bfdc910c8ab917b8aa59e2aac533f3ec2b49a1314ba"),
    ("miscellaneous", "e3d81fd016f9f84a70ecb9aa197c4911aca01a8034e49345b81093f6751bba9c"),
    ("news", "4b8eebae510353d6f628dfdaf52bf8cbdafb891a122b146421c805b74f389617"),
    ("paradoxum", "85228975016fe975065eaf0baf55980d32d26f9e2fa99f69da4696d11ac02036"),
    ("people", "2afb4b9f577be114d2dca279bc5590ee8415e1405295d7d7626c888d82f338e8"),
    ("perl", "b19145eadf97c31add2e0a199d93ffa0eb92e00275c2724b7ad6b4e412113536"),
    ("pets", "084472564bc55df566733a224f8a737d78717132ec43628be0c2af466ac41ecc"),
    ("platitudes", "88448274efec3d2c0908cc11525c9b065b95a32c232a2c58c67a87dd88545ee5"),
    ("politics", "b56ca45a046edd5c459090a5c6b335332661b436e814b41ac87bb58065ad6131"),
    ("pratchett", "48410754f1b2091f418ac27421d2764628b23c91427b12809031cf2b39be5b0e"),
    ("riddles", "bcaaab907b156a18a8943f0768828b4f1a18d382497d0e2ef012fe6aaa27becc"),
    ("science", "7ab350b142ee6c70c1d8517c5a1b3790c09b190a62859427cad98e6e35a19fcc"),
    ("songs-poems", "eb714d297b468da91b6ca32baefb000279a3e3740b09f8a87db24fe58e010b1a"),
    ("sports", "b71dd524d7bca888ec1014fb849a8a15cf58017c59127e572d393ef7632c35c8"),
    ("startrek", "7b2e4c235b99452b2de4c47d67aae0faac2ea508a2d644609e4ef5db7653c39c"),
    ("tao", "4adddc35a122bb233a16c076abc0be0326ea3a68594146a6baee3b5f6489e12b"),
    ("translate-me", "a183879cf46ee4a6176f6b9f0f31adb6abfc6333b64f8fbebeba57017c81e12e"),
    ("wisdom", "9b0bd6b9331a68c9172219784a411c417c055ed69734edc7b4406795b87d4e94"),
    ("work", "ad8a0e104160e2c4782fa86e143cd60ffab2872985d4293ffd0af6df19dbfa28"),
    ("zippy", "b996a112c99a2d61782e1a9a1f3c5445122f18ac312485f2c78279e82ca33932"),
]:
    register(f"text/fortunes/{_name}", _sha, None, _FORTUNES_SOURCE)
