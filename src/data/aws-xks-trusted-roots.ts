/**
 * The root certificate authorities AWS KMS trusts for an external key store proxy's TLS server
 * certificate: AWS's file `TrustedCertificateAuthorities` in github.com/aws/aws-kms-xksproxy-api-spec
 * (the XKS API spec links it: "the chain MUST end at one of the public roots" it lists). Only
 * each root's alias and SHA-256 fingerprint (hex, lower case, no colons) are kept; `xksctl doctor`
 * matches the fingerprint of a chain's root against them (check tls.root, docs/doctor.md).
 *
 * Data, not code: refresh it with scripts/refresh-trusted-roots.mjs (it records where and when
 * the file was taken). "published" is the file as AWS publishes it; "proposed" is an update under
 * review upstream, kept so that a root AWS is adding (or dropping) shows as a warning, not a pass.
 */

/** One trusted root. */
export interface TrustedRoot {
  /** keytool alias in AWS's file, e.g. "amazonrootca1". */
  alias: string;
  /** SHA-256 of the root certificate (DER), hex, lower case, no colons. */
  sha256: string;
}

/** One version of AWS's list, with where and when it was taken. */
export interface TrustedRootList {
  url: string;
  /** Commit of aws/aws-kms-xksproxy-api-spec the file was taken from, when known. */
  commit: string | null;
  /** Date it was taken, YYYY-MM-DD. */
  retrieved: string;
  note: string | null;
  roots: TrustedRoot[];
}

/** The shipped data. */
export interface TrustedRootsData {
  /** The file's home. */
  source: string;
  lists: { published: TrustedRootList; proposed?: TrustedRootList };
}

// BEGIN DATA (scripts/refresh-trusted-roots.mjs rewrites what follows, up to END DATA)
export const AWS_XKS_TRUSTED_ROOTS: TrustedRootsData = {
  "source": "https://github.com/aws/aws-kms-xksproxy-api-spec/blob/main/TrustedCertificateAuthorities",
  "lists": {
    "published": {
      "url": "https://github.com/aws/aws-kms-xksproxy-api-spec/blob/main/TrustedCertificateAuthorities",
      "commit": "09256914e86beb683843942aeb604df95ed07945",
      "retrieved": "2026-12-01",
      "note": "Transcribed from the file at this commit (by its content the list first published with pull request #12, 2022-11-10) as read through a code index: alias and SHA-256 only; 115 of the 123 fingerprints were cross-checked against Node.js's and Debian's root stores, the other 8 are roots (or older versions of roots) those stores no longer carry.",
      "roots": [
        {
          "alias": "accvraiz1",
          "sha256": "9a6ec012e1a7da9dbe34194d478ad7c0db1822fb071df12981496ed104384113"
        },
        {
          "alias": "acraizfnmtrcm",
          "sha256": "ebc5570c29018c4d67b1aa127baf12f703b4611ebc17b7dab5573894179b93fa"
        },
        {
          "alias": "acraizfnmtrcmservidoresseguros",
          "sha256": "554153b13d2cf9ddb753bfbe1a4e0ae08d0aa4187058fe60a2b862b2e4b87bcb"
        },
        {
          "alias": "actalisauthenticationrootca",
          "sha256": "55926084ec963a64b96e2abe01ce0ba86a64fbfebcc7aab5afc155b37fd76066"
        },
        {
          "alias": "affirmtrustcommercial",
          "sha256": "0376ab1d54c5f9803ce4b2e201a0ee7eef7b57b636e8a93c9b8d4860c96f5fa7"
        },
        {
          "alias": "affirmtrustnetworking",
          "sha256": "0a81ec5a929777f145904af38d5d509f66b5e2c58fcdb531058b0e17f3f0b41b"
        },
        {
          "alias": "affirmtrustpremium",
          "sha256": "70a73f7f376b60074248904534b11482d5bf0e698ecc498df52577ebf2e93b9a"
        },
        {
          "alias": "affirmtrustpremiumecc",
          "sha256": "bd71fdf6da97e4cf62d1647add2581b07d79adf8397eb4ecba9c5e8488821423"
        },
        {
          "alias": "amazonrootca1",
          "sha256": "8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e"
        },
        {
          "alias": "amazonrootca2",
          "sha256": "1ba5b2aa8c65401a82960118f80bec4f62304d83cec4713a19c39c011ea46db4"
        },
        {
          "alias": "amazonrootca3",
          "sha256": "18ce6cfe7bf14e60b2e347b8dfe868cb31d02ebb3ada271569f50343b46db3a4"
        },
        {
          "alias": "amazonrootca4",
          "sha256": "e35d28419ed02025cfa69038cd623962458da5c695fbdea3c22b0bfb25897092"
        },
        {
          "alias": "anfsecureserverrootca",
          "sha256": "fb8fec759169b9106b1e511644c618c51304373f6c0643088d8beffd1b997599"
        },
        {
          "alias": "atostrustedroot2011",
          "sha256": "f356bea244b7a91eb35d53ca9ad7864ace018e2d35d5f8f96ddf68a6f41aa474"
        },
        {
          "alias": "autoridaddecertificacionfirmaprofesionalcifa62634068",
          "sha256": "04048028bf1f2864d48f9ad4d83294366a828856553f3b14303f90147f5d40ef"
        },
        {
          "alias": "buypassclass2rootca",
          "sha256": "9a114025197c5bb95d94e63d55cd43790847b646b23cdf11ada4a00eff15fb48"
        },
        {
          "alias": "buypassclass3rootca",
          "sha256": "edf7ebbca27a2a384d387b7d4010c666e2edb4843e4c29b4ae1d5b9332e6b24d"
        },
        {
          "alias": "cadisigrootr2",
          "sha256": "e23d4a036d7b70e9f595b1422079d2b91edfbb1fb651a0633eaa8a9dc5f80703"
        },
        {
          "alias": "certigna",
          "sha256": "e3b6a2db2ed7ce48842f7ac53241c7b71d54144bfb40c11f3f1d0b42f5eea12d"
        },
        {
          "alias": "certignarootca",
          "sha256": "d48d3d23eedb50a459e55197601c27774b9d7b18c94d5a059511a10250b93168"
        },
        {
          "alias": "certsignrootca",
          "sha256": "eaa962c4fa4a6bafebe415196d351ccd888d4f53f3fa8ae6d7c466a94e6042bb"
        },
        {
          "alias": "certsignrootcag2",
          "sha256": "657cfe2fa73faa38462571f332a2363a46fce7020951710702cdfbb6eeda3305"
        },
        {
          "alias": "certumec384ca",
          "sha256": "6b328085625318aa50d173c98d8bda09d57e27413d114cf787a0f5d06c030cf6"
        },
        {
          "alias": "certumtrustednetworkca",
          "sha256": "5c58468d55f58e497e743982d2b50010b6d165374acf83a7d4a32db768c4408e"
        },
        {
          "alias": "certumtrustednetworkca2",
          "sha256": "b676f2eddae8775cd36cb0f63cd1d4603961f49e6265ba013a2f0307b6d0b804"
        },
        {
          "alias": "certumtrustedrootca",
          "sha256": "fe7696573855773e37a95e7ad4d9cc96c30157c15d31765ba9b15704e1ae78fd"
        },
        {
          "alias": "cfcaevroot",
          "sha256": "5cc3d78e4e1d5e45547a04e6873e64f90cf9536d1ccc2ef800f355c4c5fd70fd"
        },
        {
          "alias": "comodoaaaservicesroot",
          "sha256": "d7a7a0fb5d7e2731d771e9484ebcdef71d5f0c3e0a2948782bc83ee0ea699ef4"
        },
        {
          "alias": "comodocertificationauthority",
          "sha256": "0c2cd63df7806fa399ede809116b575bf87989f06518f9808c860503178baf66"
        },
        {
          "alias": "comodoecccertificationauthority",
          "sha256": "1793927a0614549789adce2f8f34f7f0b66d0f3ae3a3b84d21ec15dbba4fadc7"
        },
        {
          "alias": "comodorsacertificationauthority",
          "sha256": "52f0e1c4e58ec629291b60317f074671b85d7ea80d5b07273463534b32b40234"
        },
        {
          "alias": "digicertassuredidrootca",
          "sha256": "3e9099b5015e8f486c00bcea9d111ee721faba355a89bcf1df69561e3dc6325c"
        },
        {
          "alias": "digicertassuredidrootg2",
          "sha256": "7d05ebb682339f8c9451ee094eebfefa7953a114edb2f44949452fab7d2fc185"
        },
        {
          "alias": "digicertassuredidrootg3",
          "sha256": "7e37cb8b4c47090cab36551ba6f45db840680fba166a952db100717f43053fc2"
        },
        {
          "alias": "digicertglobalrootca",
          "sha256": "4348a0e9444c78cb265e058d5e8944b4d84f9662bd26db257f8934a443c70161"
        },
        {
          "alias": "digicertglobalrootg2",
          "sha256": "cb3ccbb76031e5e0138f8dd39a23f9de47ffc35e43c1144cea27d46a5ab1cb5f"
        },
        {
          "alias": "digicertglobalrootg3",
          "sha256": "31ad6648f8104138c738f39ea4320133393e3a18cc02296ef97c2ac9ef6731d0"
        },
        {
          "alias": "digicerthighassuranceevrootca",
          "sha256": "7431e5f4c3c1ce4690774f0b61e05440883ba9a01ed00ba6abd7806ed3b118cf"
        },
        {
          "alias": "digicerttrustedrootg4",
          "sha256": "552f7bdcf1a7af9e6ce672017f4f12abf77240c78e761ac203d1d9d20ac89988"
        },
        {
          "alias": "dtrustrootclass3ca22009",
          "sha256": "49e7a442acf0ea6287050054b52564b650e4f49e42e348d6aa38e039e957b1c1"
        },
        {
          "alias": "dtrustrootclass3ca2ev2009",
          "sha256": "eec5496b988ce98625b934092eec2908bed0b0f316c2d4730c84eaf1f3d34881"
        },
        {
          "alias": "ecacc",
          "sha256": "88497f01602f3154246ae28c4d5aef10f1d87ebb76626f4ae0b7f95ba7968799"
        },
        {
          "alias": "emsigneccrootcac3",
          "sha256": "bc4d809b15189d78db3e1d8cf4f9726a795da1643ca5f1358e1ddb0edc0d7eb3"
        },
        {
          "alias": "emsigneccrootcag3",
          "sha256": "86a1ecba089c4a8d3bbe2734c612ba341d813e043cf9e8a862cd5c57a36bbe6b"
        },
        {
          "alias": "emsignrootcac1",
          "sha256": "125609aa301da0a249b97a8239cb6a34216f44dcac9f3954b14292f2e8c8608f"
        },
        {
          "alias": "emsignrootcag1",
          "sha256": "40f6af0346a99aa1cd1d555a4e9cce62c7f9634603ee406615833dc8c8d00367"
        },
        {
          "alias": "entrustnetpremium2048secureserverca",
          "sha256": "6dc47172e01cbcb0bf62580d895fe2b8ac9ad4f873801e0c10b9c837d21eb177"
        },
        {
          "alias": "entrustrootcertificationauthority",
          "sha256": "73c176434f1bc6d5adf45b0e76e727287c8de57616c1e6e6141a2b2cbc7d8e4c"
        },
        {
          "alias": "entrustrootcertificationauthorityec1",
          "sha256": "02ed0eb28c14da45165c566791700d6451d7fb56f0b2ab1d3b8eb070e56edff5"
        },
        {
          "alias": "entrustrootcertificationauthorityg2",
          "sha256": "43df5774b03e7fef5fe40d931a7bedf1bb2e6b42738c4e6d3841103d3aa7f339"
        },
        {
          "alias": "entrustrootcertificationauthorityg4",
          "sha256": "db3517d1f6732a2d5ab97c533ec70779ee3270a62fb4ac4238372460e6f01e88"
        },
        {
          "alias": "epkirootcertificationauthority",
          "sha256": "c0a6f4dc63a24bfdcf54ef2a6a082a0a72de35803e2ff5ff527ae5d87206dfd5"
        },
        {
          "alias": "eszignorootca2017",
          "sha256": "beb00b30839b9bc32c32e4447905950641f26421b15ed089198b518ae2ea1b99"
        },
        {
          "alias": "gdcatrustauthr5root",
          "sha256": "bfff8fd04433487d6a8aa60c1a29767a9fc2bbb05e420f713a13b992891d3893"
        },
        {
          "alias": "globalsigneccrootcar4",
          "sha256": "bec94911c2955676db6c0a550986d76e3ba005667c442c9762b4fbb773de228c"
        },
        {
          "alias": "globalsigneccrootcar5",
          "sha256": "179fbc148a3dd00fd24ea13458cc43bfa7f59c8182d783a513f6ebec100c8924"
        },
        {
          "alias": "globalsignrootca",
          "sha256": "ebd41040e4bb3ec742c9e381d31ef2a41a48b6685c96e7cef3c1df6cd4331c99"
        },
        {
          "alias": "globalsignrootcar3",
          "sha256": "cbb522d7b7f127ad6a0113865bdf1cd4102e7d0759af635a7cf4720dc963c53b"
        },
        {
          "alias": "globalsignrootcar6",
          "sha256": "2cabeafe37d06ca22aba7391c0033d25982952c453647349763a3ab5ad6ccf69"
        },
        {
          "alias": "globalsignroote46",
          "sha256": "cbb9c44d84b8043e1050ea31a69f514955d7bfd2e2c6b49301019ad61d9f5058"
        },
        {
          "alias": "globalsignrootr46",
          "sha256": "4fa3126d8d3a11d1c4855a4f807cbad6cf919d3a5a88b03bea2c6372d93c40c9"
        },
        {
          "alias": "globaltrust2020",
          "sha256": "9a296a5182d1d451a2e37f439b74daafa267523329f90f9a0d2007c334e23c9a"
        },
        {
          "alias": "godaddyclass2ca",
          "sha256": "c3846bf24b9e93ca64274c0ec67c1ecc5e024ffcacd2d74019350e81fe546ae4"
        },
        {
          "alias": "godaddyrootcertificateauthorityg2",
          "sha256": "45140b3247eb9cc8c5b4f0d7b53091f73292089e6e5a63e2749dd3aca9198eda"
        },
        {
          "alias": "gtsrootr1",
          "sha256": "2a575471e31340bc21581cbd2cf13e158463203ece94bcf9d3cc196bf09a5472"
        },
        {
          "alias": "gtsrootr2",
          "sha256": "c45d7bb08e6d67e62e4235110b564e5f78fd92ef058c840aea4e6455d7585c60"
        },
        {
          "alias": "gtsrootr3",
          "sha256": "15d5b8774619ea7d54ce1ca6d0b0c403e037a917f131e8a04e1e6b7a71babce5"
        },
        {
          "alias": "gtsrootr4",
          "sha256": "71cca5391f9e794b04802530b363e121da8a3043bb26662fea4dca7fc951a4bd"
        },
        {
          "alias": "haricatlseccrootca2021",
          "sha256": "3f99cc474acfce4dfed58794665e478d1547739f2e780f1bb4ca9b133097d401"
        },
        {
          "alias": "haricatlsrsarootca2021",
          "sha256": "d95d0e8eda79525bf9beb11b14d2100d3294985f0c62d9fabd9cd999eccb7b1d"
        },
        {
          "alias": "hellenicacademicandresearchinstitutionseccrootca2015",
          "sha256": "44b545aa8a25e65a73ca15dc27fc36d24c1cb9953a066539b11582dc487b4833"
        },
        {
          "alias": "hellenicacademicandresearchinstitutionsrootca2011",
          "sha256": "bc104f15a48be709dca542a7e1d4b9df6f054527e802eaa92d595444258afe71"
        },
        {
          "alias": "hellenicacademicandresearchinstitutionsrootca2015",
          "sha256": "a040929a02ce53b4acf4f2ffc6981ce4496f755e6d45fe0b2a692bcd52523f36"
        },
        {
          "alias": "hongkongpostrootca3",
          "sha256": "5a2fc03f0c83b090bbfa40604b0988446c7636183df9846e17101a447fb8efd6"
        },
        {
          "alias": "identrustcommercialrootca1",
          "sha256": "5d56499be4d2e08bcfcad08a3e38723d50503bde706948e42f55603019e528ae"
        },
        {
          "alias": "identrustpublicsectorrootca1",
          "sha256": "30d0895a9a448a262091635522d1f52010b5867acae12c78ef958fd4f4389f2f"
        },
        {
          "alias": "isrgrootx1",
          "sha256": "96bcec06264976f37460779acf28c5a7cfe8a3c0aae11a8ffcee05c0bddf08c6"
        },
        {
          "alias": "izenpecom",
          "sha256": "2530cc8e98321502bad96f9b1fba1b099e2d299e0f4548bb914f363bc0d4531f"
        },
        {
          "alias": "microseceszignorootca2009",
          "sha256": "3c5f81fea5fab82c64bfa2eaecafcde8e077fc8620a7cae537163df36edbf378"
        },
        {
          "alias": "microsofteccrootcertificateauthority2017",
          "sha256": "358df39d764af9e1b766e9c972df352ee15cfac227af6ad1d70e8e4a6edcba02"
        },
        {
          "alias": "microsoftrsarootcertificateauthority2017",
          "sha256": "c741f70f4b2a8d88bf2e71c14122ef53ef10eba0cfa5e64cfa20f418853073e0"
        },
        {
          "alias": "naverglobalrootcertificationauthority",
          "sha256": "88f438dcf8ffd1fa8f429115ffe5f82ae1e06e0c70c375faad717b34a49e7265"
        },
        {
          "alias": "netlockaranyclassgoldfotanusitvany",
          "sha256": "6c61dac3a2def031506be036d2a6fe401994fbd13df9c8d466599274c446ec98"
        },
        {
          "alias": "networksolutionscertificateauthority",
          "sha256": "15f0ba00a3ac7af3ac884c072b1011a077bd77c097f40164b2f8598abd83860c"
        },
        {
          "alias": "oistewisekeyglobalrootgbca",
          "sha256": "6b9c08e86eb0f767cfad65cd98b62149e5494a67f5845e7bd1ed019f27b86bd6"
        },
        {
          "alias": "oistewisekeyglobalrootgcca",
          "sha256": "8560f91c3624daba9570b5fea0dbe36ff11a8323be9486854fb3f34a5571198d"
        },
        {
          "alias": "quovadisrootca1g3",
          "sha256": "8a866fd1b276b57e578e921c65828a2bed58e9f2f288054134b7f1f4bfc9cc74"
        },
        {
          "alias": "quovadisrootca2",
          "sha256": "85a0dd7dd720adb7ff05f83d542b209dc7ff4528f7d677b18389fea5e5c49e86"
        },
        {
          "alias": "quovadisrootca2g3",
          "sha256": "8fe4fb0af93a4d0d67db0bebb23e37c71bf325dcbcdd240ea04daf58b47e1840"
        },
        {
          "alias": "quovadisrootca3",
          "sha256": "18f1fc7f205df8adddeb7fe007dd57e3af375a9c4d8d73546bf4f1fed1e18d35"
        },
        {
          "alias": "quovadisrootca3g3",
          "sha256": "88ef81de202eb018452e43f864725cea5fbd1fc2d9d205730709c5d8b8690f46"
        },
        {
          "alias": "secureglobalca",
          "sha256": "4200f5043ac8590ebb527d209ed1503029fbcbd41ca1b506ec27f15ade7dac69"
        },
        {
          "alias": "securesignrootca11",
          "sha256": "bf0feefb9e3a581ad5f9e9db7589985743d261085c4d314f6f5d7259aa421612"
        },
        {
          "alias": "securetrustca",
          "sha256": "f1c1b50ae5a20dd8030ec9f6bc24823dd367b5255759b4e71b61fce9f7375d73"
        },
        {
          "alias": "securitycommunicationrootca2",
          "sha256": "513b2cecb810d4cde5dd85391adfc6c2dd60d87bb736d2b521484aa47a0ebef6"
        },
        {
          "alias": "sslcomevrootcertificationauthorityecc",
          "sha256": "22a2c1f7bded704cc1e701b5f408c310880fe956b5de2a4a44f99c873a25a7c8"
        },
        {
          "alias": "sslcomevrootcertificationauthorityrsar2",
          "sha256": "2e7bf16cc22485a7bbe2aa8696750761b0ae39be3b2fe9d0cc6d4ef73491425c"
        },
        {
          "alias": "sslcomrootcertificationauthorityecc",
          "sha256": "3417bb06cc6007da1b961c920b8ab4ce3fad820e4aa30b9acbc4a74ebdcebc65"
        },
        {
          "alias": "sslcomrootcertificationauthorityrsa",
          "sha256": "85666a562ee0be5ce925c1d8890a6f76a87ec16d4d7d5f29ea7419cf20123b69"
        },
        {
          "alias": "starfieldclass2ca",
          "sha256": "1465fa205397b876faa6f0a9958e5590e40fcc7faa4fb7c2c8677521fb5fb658"
        },
        {
          "alias": "starfieldrootcertificateauthorityg2",
          "sha256": "2ce1cb0bf9d2f9e102993fbe215152c3b2dd0cabde1c68e5319b839154dbb7f5"
        },
        {
          "alias": "starfieldservicesrootcertificateauthorityg2",
          "sha256": "568d6905a2c88708a4b3025190edcfedb1974a606a13c6e5290fcb2ae63edab5"
        },
        {
          "alias": "swisssigngoldcag2",
          "sha256": "62dd0be9b9f50a163ea0f8e75c053b1eca57ea55c8688f647c6881f2c8357b95"
        },
        {
          "alias": "swisssignsilvercag2",
          "sha256": "be6c4da2bbb9ba59b6f3939768374246c3c005993fa98f020d1dedbed48a81d5"
        },
        {
          "alias": "szafirrootca2",
          "sha256": "a1339d33281a0b56e557d3d32b1ce7f9367eb094bd5fa72a7e5004c8ded7cafe"
        },
        {
          "alias": "teliasonerarootcav1",
          "sha256": "dd6936fe21f8f077c123a1a521c12224f72255b73e03a7260693e8a24b0fa389"
        },
        {
          "alias": "trustcoreca1",
          "sha256": "5a885db19c01d912c5759388938cafbbdf031ab2d48e91ee15589b42971d039c"
        },
        {
          "alias": "trustcorrootcertca1",
          "sha256": "d40e9c86cd8fe468c1776959f49ea774fa548684b6c406f3909261f4dce2575c"
        },
        {
          "alias": "trustcorrootcertca2",
          "sha256": "0753e940378c1bd5e3836e395daea5cb839e5046f1bd0eae1951cf10fec7c965"
        },
        {
          "alias": "trustwaveglobalcertificationauthority",
          "sha256": "97552015f5ddfc3c8788c006944555408894450084f100867086bc1a2bb58dc8"
        },
        {
          "alias": "trustwaveglobaleccp256certificationauthority",
          "sha256": "945bbc825ea554f489d1fd51a73ddf2ea624ac7019a05205225c22a78ccfa8b4"
        },
        {
          "alias": "trustwaveglobaleccp384certificationauthority",
          "sha256": "55903859c8c0c3ebb8759ece4e2557225ff5758bbd38ebd48276601e1bd58097"
        },
        {
          "alias": "ttelesecglobalrootclass2",
          "sha256": "91e2f5788d5810eba7ba58737de1548a8ecacd014598bc0b143e041b17052552"
        },
        {
          "alias": "ttelesecglobalrootclass3",
          "sha256": "fd73dad31c644ff1b43bef0ccdda96710b9cd9875eca7e31707af3e96d522bbd"
        },
        {
          "alias": "tubitakkamusmsslkoksertifikasisurum1",
          "sha256": "46edc3689046d53a453fb3104ab80dcaec658b2660ea1629dd7e867990648716"
        },
        {
          "alias": "tuntrustrootca",
          "sha256": "2e44102ab58cb85419451c8e19d9acf3662cafbc614b6a53960a30f7d0e2eb41"
        },
        {
          "alias": "twcaglobalrootca",
          "sha256": "59769007f7685d0fcd50872f9f95d5755a5b2b457d81f3692b610a98672f0e1b"
        },
        {
          "alias": "twcarootcertificationauthority",
          "sha256": "bfd88fe1101c41ae3e801bf8be56350ee9bad1a6b9bd515edc5c6d5b8711ac44"
        },
        {
          "alias": "ucaextendedvalidationroot",
          "sha256": "d43af9b35473755c9684fc06d7d8cb70ee5c28e773fb294eb41ee71722924d24"
        },
        {
          "alias": "ucaglobalg2root",
          "sha256": "9bea11c976fe014764c1be56a6f914b5a560317abd9988393382e5161aa0493c"
        },
        {
          "alias": "usertrustecccertificationauthority",
          "sha256": "4ff460d54b9c86dabfbcfc5712e0400d2bed3fbc4d4fbdaa86e06adcd2a9ad7a"
        },
        {
          "alias": "usertrustrsacertificationauthority",
          "sha256": "e793c9b02fd8aa13e21c31228accb08119643b749c898964b1746d46c3d4cbd2"
        },
        {
          "alias": "xrampglobalcaroot",
          "sha256": "cecddc905099d8dadfc5b1d209b737cbe2c18cfb2c10c0ff0bcf0d3286fc1aa2"
        }
      ]
    },
    "proposed": {
      "url": "https://github.com/aws/aws-kms-xksproxy-api-spec/pull/22",
      "commit": "a6f33c0ff25e8c8a5cfd4659ebf0e5f40450f055",
      "retrieved": "2026-12-01",
      "note": "The update proposed by pull request #22 ('based on latest keystore', opened 2024-06-16, not merged when taken), transcribed from the file at this commit: alias and SHA-256 only; 141 of the 145 fingerprints were cross-checked against Node.js's and Debian's root stores, the other 4 (CommScope) are roots those stores do not carry.",
      "roots": [
        {
          "alias": "accvraiz1",
          "sha256": "9a6ec012e1a7da9dbe34194d478ad7c0db1822fb071df12981496ed104384113"
        },
        {
          "alias": "acraizfnmtrcm",
          "sha256": "ebc5570c29018c4d67b1aa127baf12f703b4611ebc17b7dab5573894179b93fa"
        },
        {
          "alias": "acraizfnmtrcmservidoresseguros",
          "sha256": "554153b13d2cf9ddb753bfbe1a4e0ae08d0aa4187058fe60a2b862b2e4b87bcb"
        },
        {
          "alias": "actalisauthenticationrootca",
          "sha256": "55926084ec963a64b96e2abe01ce0ba86a64fbfebcc7aab5afc155b37fd76066"
        },
        {
          "alias": "affirmtrustcommercial",
          "sha256": "0376ab1d54c5f9803ce4b2e201a0ee7eef7b57b636e8a93c9b8d4860c96f5fa7"
        },
        {
          "alias": "affirmtrustnetworking",
          "sha256": "0a81ec5a929777f145904af38d5d509f66b5e2c58fcdb531058b0e17f3f0b41b"
        },
        {
          "alias": "affirmtrustpremium",
          "sha256": "70a73f7f376b60074248904534b11482d5bf0e698ecc498df52577ebf2e93b9a"
        },
        {
          "alias": "affirmtrustpremiumecc",
          "sha256": "bd71fdf6da97e4cf62d1647add2581b07d79adf8397eb4ecba9c5e8488821423"
        },
        {
          "alias": "amazonrootca1",
          "sha256": "8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e"
        },
        {
          "alias": "amazonrootca2",
          "sha256": "1ba5b2aa8c65401a82960118f80bec4f62304d83cec4713a19c39c011ea46db4"
        },
        {
          "alias": "amazonrootca3",
          "sha256": "18ce6cfe7bf14e60b2e347b8dfe868cb31d02ebb3ada271569f50343b46db3a4"
        },
        {
          "alias": "amazonrootca4",
          "sha256": "e35d28419ed02025cfa69038cd623962458da5c695fbdea3c22b0bfb25897092"
        },
        {
          "alias": "anfsecureserverrootca",
          "sha256": "fb8fec759169b9106b1e511644c618c51304373f6c0643088d8beffd1b997599"
        },
        {
          "alias": "atostrustedroot2011",
          "sha256": "f356bea244b7a91eb35d53ca9ad7864ace018e2d35d5f8f96ddf68a6f41aa474"
        },
        {
          "alias": "atostrustedrootrootcaecctls2021",
          "sha256": "b2fae53e14ccd7ab9212064701ae279c1d8988facb775fa8a008914e663988a8"
        },
        {
          "alias": "atostrustedrootrootcarsatls2021",
          "sha256": "81a9088ea59fb364c548a6f85559099b6f0405efbf18e5324ec9f457ba00112f"
        },
        {
          "alias": "autoridaddecertificacionfirmaprofesionalcifa62634068",
          "sha256": "57de0583efd2b26e0361da99da9df4648def7ee8441c3b728afa9bcde0f9b26a"
        },
        {
          "alias": "baltimorecybertrustroot",
          "sha256": "16af57a9f676b0ab126095aa5ebadef22ab31119d644ac95cd4b93dbf3f26aeb"
        },
        {
          "alias": "buypassclass2rootca",
          "sha256": "9a114025197c5bb95d94e63d55cd43790847b646b23cdf11ada4a00eff15fb48"
        },
        {
          "alias": "buypassclass3rootca",
          "sha256": "edf7ebbca27a2a384d387b7d4010c666e2edb4843e4c29b4ae1d5b9332e6b24d"
        },
        {
          "alias": "cadisigrootr2",
          "sha256": "e23d4a036d7b70e9f595b1422079d2b91edfbb1fb651a0633eaa8a9dc5f80703"
        },
        {
          "alias": "certainlyroote1",
          "sha256": "b4585f22e4ac756a4e8612a1361c5d9d031a93fd84febb778fa3068b0fc42dc2"
        },
        {
          "alias": "certainlyrootr1",
          "sha256": "77b82cd8644c4305f7acc5cb156b45675004033d51c60c6202a8e0c33467d3a0"
        },
        {
          "alias": "certigna",
          "sha256": "e3b6a2db2ed7ce48842f7ac53241c7b71d54144bfb40c11f3f1d0b42f5eea12d"
        },
        {
          "alias": "certignarootca",
          "sha256": "d48d3d23eedb50a459e55197601c27774b9d7b18c94d5a059511a10250b93168"
        },
        {
          "alias": "certsignrootca",
          "sha256": "eaa962c4fa4a6bafebe415196d351ccd888d4f53f3fa8ae6d7c466a94e6042bb"
        },
        {
          "alias": "certsignrootcag2",
          "sha256": "657cfe2fa73faa38462571f332a2363a46fce7020951710702cdfbb6eeda3305"
        },
        {
          "alias": "certumec384ca",
          "sha256": "6b328085625318aa50d173c98d8bda09d57e27413d114cf787a0f5d06c030cf6"
        },
        {
          "alias": "certumtrustednetworkca",
          "sha256": "5c58468d55f58e497e743982d2b50010b6d165374acf83a7d4a32db768c4408e"
        },
        {
          "alias": "certumtrustednetworkca2",
          "sha256": "b676f2eddae8775cd36cb0f63cd1d4603961f49e6265ba013a2f0307b6d0b804"
        },
        {
          "alias": "certumtrustedrootca",
          "sha256": "fe7696573855773e37a95e7ad4d9cc96c30157c15d31765ba9b15704e1ae78fd"
        },
        {
          "alias": "cfcaevroot",
          "sha256": "5cc3d78e4e1d5e45547a04e6873e64f90cf9536d1ccc2ef800f355c4c5fd70fd"
        },
        {
          "alias": "commscopepublictrusteccroot01",
          "sha256": "11437cda7bb45e41365f45b39a38986b0de00def348e0c7bb0873633800bc38b"
        },
        {
          "alias": "commscopepublictrusteccroot02",
          "sha256": "2ffb7f813bbbb3c89ab4e8162d0f16d71509a830cc9d73c262e5140875d1ad4a"
        },
        {
          "alias": "commscopepublictrustrsaroot01",
          "sha256": "02bdf96e2a45dd9bf18fc7e1dbdf21a0379ba3c9c2610344cfd8d606fec1ed81"
        },
        {
          "alias": "commscopepublictrustrsaroot02",
          "sha256": "ffe943d793424b4f7c440c1c3d648d5363f34b82dc87aa7a9f118fc5dee101f1"
        },
        {
          "alias": "comodoaaaservicesroot",
          "sha256": "d7a7a0fb5d7e2731d771e9484ebcdef71d5f0c3e0a2948782bc83ee0ea699ef4"
        },
        {
          "alias": "comodocertificationauthority",
          "sha256": "0c2cd63df7806fa399ede809116b575bf87989f06518f9808c860503178baf66"
        },
        {
          "alias": "comodoecccertificationauthority",
          "sha256": "1793927a0614549789adce2f8f34f7f0b66d0f3ae3a3b84d21ec15dbba4fadc7"
        },
        {
          "alias": "comodorsacertificationauthority",
          "sha256": "52f0e1c4e58ec629291b60317f074671b85d7ea80d5b07273463534b32b40234"
        },
        {
          "alias": "digicertassuredidrootca",
          "sha256": "3e9099b5015e8f486c00bcea9d111ee721faba355a89bcf1df69561e3dc6325c"
        },
        {
          "alias": "digicertassuredidrootg2",
          "sha256": "7d05ebb682339f8c9451ee094eebfefa7953a114edb2f44949452fab7d2fc185"
        },
        {
          "alias": "digicertassuredidrootg3",
          "sha256": "7e37cb8b4c47090cab36551ba6f45db840680fba166a952db100717f43053fc2"
        },
        {
          "alias": "digicertglobalrootca",
          "sha256": "4348a0e9444c78cb265e058d5e8944b4d84f9662bd26db257f8934a443c70161"
        },
        {
          "alias": "digicertglobalrootg2",
          "sha256": "cb3ccbb76031e5e0138f8dd39a23f9de47ffc35e43c1144cea27d46a5ab1cb5f"
        },
        {
          "alias": "digicertglobalrootg3",
          "sha256": "31ad6648f8104138c738f39ea4320133393e3a18cc02296ef97c2ac9ef6731d0"
        },
        {
          "alias": "digicerthighassuranceevrootca",
          "sha256": "7431e5f4c3c1ce4690774f0b61e05440883ba9a01ed00ba6abd7806ed3b118cf"
        },
        {
          "alias": "digicerttlseccp384rootg5",
          "sha256": "018e13f0772532cf809bd1b17281867283fc48c6e13be9c69812854a490c1b05"
        },
        {
          "alias": "digicerttlsrsa4096rootg5",
          "sha256": "371a00dc0533b3721a7eeb40e8419e70799d2b0a0f2c1d80693165f7cec4ad75"
        },
        {
          "alias": "digicerttrustedrootg4",
          "sha256": "552f7bdcf1a7af9e6ce672017f4f12abf77240c78e761ac203d1d9d20ac89988"
        },
        {
          "alias": "dtrustbrrootca12020",
          "sha256": "e59aaa816009c22bff5b25bad37df306f049797c1f81d85ab089e657bd8f0044"
        },
        {
          "alias": "dtrustevrootca12020",
          "sha256": "08170d1aa36453901a2f959245e347db0c8d37abaabc56b81aa100dc958970db"
        },
        {
          "alias": "dtrustrootclass3ca22009",
          "sha256": "49e7a442acf0ea6287050054b52564b650e4f49e42e348d6aa38e039e957b1c1"
        },
        {
          "alias": "dtrustrootclass3ca2ev2009",
          "sha256": "eec5496b988ce98625b934092eec2908bed0b0f316c2d4730c84eaf1f3d34881"
        },
        {
          "alias": "emsigneccrootcac3",
          "sha256": "bc4d809b15189d78db3e1d8cf4f9726a795da1643ca5f1358e1ddb0edc0d7eb3"
        },
        {
          "alias": "emsigneccrootcag3",
          "sha256": "86a1ecba089c4a8d3bbe2734c612ba341d813e043cf9e8a862cd5c57a36bbe6b"
        },
        {
          "alias": "emsignrootcac1",
          "sha256": "125609aa301da0a249b97a8239cb6a34216f44dcac9f3954b14292f2e8c8608f"
        },
        {
          "alias": "emsignrootcag1",
          "sha256": "40f6af0346a99aa1cd1d555a4e9cce62c7f9634603ee406615833dc8c8d00367"
        },
        {
          "alias": "entrustnetpremium2048secureserverca",
          "sha256": "6dc47172e01cbcb0bf62580d895fe2b8ac9ad4f873801e0c10b9c837d21eb177"
        },
        {
          "alias": "entrustrootcertificationauthority",
          "sha256": "73c176434f1bc6d5adf45b0e76e727287c8de57616c1e6e6141a2b2cbc7d8e4c"
        },
        {
          "alias": "entrustrootcertificationauthorityec1",
          "sha256": "02ed0eb28c14da45165c566791700d6451d7fb56f0b2ab1d3b8eb070e56edff5"
        },
        {
          "alias": "entrustrootcertificationauthorityg2",
          "sha256": "43df5774b03e7fef5fe40d931a7bedf1bb2e6b42738c4e6d3841103d3aa7f339"
        },
        {
          "alias": "entrustrootcertificationauthorityg4",
          "sha256": "db3517d1f6732a2d5ab97c533ec70779ee3270a62fb4ac4238372460e6f01e88"
        },
        {
          "alias": "epkirootcertificationauthority",
          "sha256": "c0a6f4dc63a24bfdcf54ef2a6a082a0a72de35803e2ff5ff527ae5d87206dfd5"
        },
        {
          "alias": "eszignorootca2017",
          "sha256": "beb00b30839b9bc32c32e4447905950641f26421b15ed089198b518ae2ea1b99"
        },
        {
          "alias": "firmaprofesionalcarootaweb",
          "sha256": "bef256daf26e9c69bdec1602359798f3caf71821a03e018257c53c65617f3d4a"
        },
        {
          "alias": "gdcatrustauthr5root",
          "sha256": "bfff8fd04433487d6a8aa60c1a29767a9fc2bbb05e420f713a13b992891d3893"
        },
        {
          "alias": "globalsigneccrootcar4",
          "sha256": "b085d70b964f191a73e4af0d54ae7a0e07aafdaf9b71dd0862138ab7325a24a2"
        },
        {
          "alias": "globalsigneccrootcar5",
          "sha256": "179fbc148a3dd00fd24ea13458cc43bfa7f59c8182d783a513f6ebec100c8924"
        },
        {
          "alias": "globalsignrootca",
          "sha256": "ebd41040e4bb3ec742c9e381d31ef2a41a48b6685c96e7cef3c1df6cd4331c99"
        },
        {
          "alias": "globalsignrootcar3",
          "sha256": "cbb522d7b7f127ad6a0113865bdf1cd4102e7d0759af635a7cf4720dc963c53b"
        },
        {
          "alias": "globalsignrootcar6",
          "sha256": "2cabeafe37d06ca22aba7391c0033d25982952c453647349763a3ab5ad6ccf69"
        },
        {
          "alias": "globalsignroote46",
          "sha256": "cbb9c44d84b8043e1050ea31a69f514955d7bfd2e2c6b49301019ad61d9f5058"
        },
        {
          "alias": "globalsignrootr46",
          "sha256": "4fa3126d8d3a11d1c4855a4f807cbad6cf919d3a5a88b03bea2c6372d93c40c9"
        },
        {
          "alias": "godaddyclass2ca",
          "sha256": "c3846bf24b9e93ca64274c0ec67c1ecc5e024ffcacd2d74019350e81fe546ae4"
        },
        {
          "alias": "godaddyrootcertificateauthorityg2",
          "sha256": "45140b3247eb9cc8c5b4f0d7b53091f73292089e6e5a63e2749dd3aca9198eda"
        },
        {
          "alias": "gtsrootr1",
          "sha256": "d947432abde7b7fa90fc2e6b59101b1280e0e1c7e4e40fa3c6887fff57a7f4cf"
        },
        {
          "alias": "gtsrootr2",
          "sha256": "8d25cd97229dbf70356bda4eb3cc734031e24cf00fafcfd32dc76eb5841c7ea8"
        },
        {
          "alias": "gtsrootr3",
          "sha256": "34d8a73ee208d9bcdb0d956520934b4e40e69482596e8b6f73c8426b010a6f48"
        },
        {
          "alias": "gtsrootr4",
          "sha256": "349dfa4058c5e263123b398ae795573c4e1313c83fe68f93556cd5e8031b3c7d"
        },
        {
          "alias": "haricatlseccrootca2021",
          "sha256": "3f99cc474acfce4dfed58794665e478d1547739f2e780f1bb4ca9b133097d401"
        },
        {
          "alias": "haricatlsrsarootca2021",
          "sha256": "d95d0e8eda79525bf9beb11b14d2100d3294985f0c62d9fabd9cd999eccb7b1d"
        },
        {
          "alias": "hellenicacademicandresearchinstitutionseccrootca2015",
          "sha256": "44b545aa8a25e65a73ca15dc27fc36d24c1cb9953a066539b11582dc487b4833"
        },
        {
          "alias": "hellenicacademicandresearchinstitutionsrootca2015",
          "sha256": "a040929a02ce53b4acf4f2ffc6981ce4496f755e6d45fe0b2a692bcd52523f36"
        },
        {
          "alias": "hipkirootcag1",
          "sha256": "f015ce3cc239bfef064be9f1d2c417e1a0264a0a94be1f0c8d121864eb6949cc"
        },
        {
          "alias": "hongkongpostrootca3",
          "sha256": "5a2fc03f0c83b090bbfa40604b0988446c7636183df9846e17101a447fb8efd6"
        },
        {
          "alias": "identrustcommercialrootca1",
          "sha256": "5d56499be4d2e08bcfcad08a3e38723d50503bde706948e42f55603019e528ae"
        },
        {
          "alias": "identrustpublicsectorrootca1",
          "sha256": "30d0895a9a448a262091635522d1f52010b5867acae12c78ef958fd4f4389f2f"
        },
        {
          "alias": "isrgrootx1",
          "sha256": "96bcec06264976f37460779acf28c5a7cfe8a3c0aae11a8ffcee05c0bddf08c6"
        },
        {
          "alias": "isrgrootx2",
          "sha256": "69729b8e15a86efc177a57afb7171dfc64add28c2fca8cf1507e34453ccb1470"
        },
        {
          "alias": "izenpecom",
          "sha256": "2530cc8e98321502bad96f9b1fba1b099e2d299e0f4548bb914f363bc0d4531f"
        },
        {
          "alias": "microseceszignorootca2009",
          "sha256": "3c5f81fea5fab82c64bfa2eaecafcde8e077fc8620a7cae537163df36edbf378"
        },
        {
          "alias": "microsofteccrootcertificateauthority2017",
          "sha256": "358df39d764af9e1b766e9c972df352ee15cfac227af6ad1d70e8e4a6edcba02"
        },
        {
          "alias": "microsoftrsarootcertificateauthority2017",
          "sha256": "c741f70f4b2a8d88bf2e71c14122ef53ef10eba0cfa5e64cfa20f418853073e0"
        },
        {
          "alias": "naverglobalrootcertificationauthority",
          "sha256": "88f438dcf8ffd1fa8f429115ffe5f82ae1e06e0c70c375faad717b34a49e7265"
        },
        {
          "alias": "netlockaranyclassgoldfotanusitvany",
          "sha256": "6c61dac3a2def031506be036d2a6fe401994fbd13df9c8d466599274c446ec98"
        },
        {
          "alias": "oistewisekeyglobalrootgbca",
          "sha256": "6b9c08e86eb0f767cfad65cd98b62149e5494a67f5845e7bd1ed019f27b86bd6"
        },
        {
          "alias": "oistewisekeyglobalrootgcca",
          "sha256": "8560f91c3624daba9570b5fea0dbe36ff11a8323be9486854fb3f34a5571198d"
        },
        {
          "alias": "quovadisrootca1g3",
          "sha256": "8a866fd1b276b57e578e921c65828a2bed58e9f2f288054134b7f1f4bfc9cc74"
        },
        {
          "alias": "quovadisrootca2",
          "sha256": "85a0dd7dd720adb7ff05f83d542b209dc7ff4528f7d677b18389fea5e5c49e86"
        },
        {
          "alias": "quovadisrootca2g3",
          "sha256": "8fe4fb0af93a4d0d67db0bebb23e37c71bf325dcbcdd240ea04daf58b47e1840"
        },
        {
          "alias": "quovadisrootca3",
          "sha256": "18f1fc7f205df8adddeb7fe007dd57e3af375a9c4d8d73546bf4f1fed1e18d35"
        },
        {
          "alias": "quovadisrootca3g3",
          "sha256": "88ef81de202eb018452e43f864725cea5fbd1fc2d9d205730709c5d8b8690f46"
        },
        {
          "alias": "sectigopublicserverauthenticationroote46",
          "sha256": "c90f26f0fb1b4018b22227519b5ca2b53e2ca5b3be5cf18efe1bef47380c5383"
        },
        {
          "alias": "sectigopublicserverauthenticationrootr46",
          "sha256": "7bb647a62aeeac88bf257aa522d01ffea395e0ab45c73f93f65654ec38f25a06"
        },
        {
          "alias": "secureglobalca",
          "sha256": "4200f5043ac8590ebb527d209ed1503029fbcbd41ca1b506ec27f15ade7dac69"
        },
        {
          "alias": "securesignrootca11",
          "sha256": "bf0feefb9e3a581ad5f9e9db7589985743d261085c4d314f6f5d7259aa421612"
        },
        {
          "alias": "securetrustca",
          "sha256": "f1c1b50ae5a20dd8030ec9f6bc24823dd367b5255759b4e71b61fce9f7375d73"
        },
        {
          "alias": "securitycommunicationeccrootca1",
          "sha256": "e74fbda55bd564c473a36b441aa799c8a68e077440e8288b9fa1e50e4bbaca11"
        },
        {
          "alias": "securitycommunicationrootca2",
          "sha256": "513b2cecb810d4cde5dd85391adfc6c2dd60d87bb736d2b521484aa47a0ebef6"
        },
        {
          "alias": "securitycommunicationrootca3",
          "sha256": "24a55c2ab051442d0617766541239a4ad032d7c55175aa34ffde2fbc4f5c5294"
        },
        {
          "alias": "sslcomevrootcertificationauthorityecc",
          "sha256": "22a2c1f7bded704cc1e701b5f408c310880fe956b5de2a4a44f99c873a25a7c8"
        },
        {
          "alias": "sslcomevrootcertificationauthorityrsar2",
          "sha256": "2e7bf16cc22485a7bbe2aa8696750761b0ae39be3b2fe9d0cc6d4ef73491425c"
        },
        {
          "alias": "sslcomrootcertificationauthorityecc",
          "sha256": "3417bb06cc6007da1b961c920b8ab4ce3fad820e4aa30b9acbc4a74ebdcebc65"
        },
        {
          "alias": "sslcomrootcertificationauthorityrsa",
          "sha256": "85666a562ee0be5ce925c1d8890a6f76a87ec16d4d7d5f29ea7419cf20123b69"
        },
        {
          "alias": "sslcomtlseccrootca2022",
          "sha256": "c32ffd9f46f936d16c3673990959434b9ad60aafbb9e7cf33654f144cc1ba143"
        },
        {
          "alias": "sslcomtlsrsarootca2022",
          "sha256": "8faf7d2e2cb4709bb8e0b33666bf75a5dd45b5de480f8ea8d4bfe6bebc17f2ed"
        },
        {
          "alias": "starfieldclass2ca",
          "sha256": "1465fa205397b876faa6f0a9958e5590e40fcc7faa4fb7c2c8677521fb5fb658"
        },
        {
          "alias": "starfieldrootcertificateauthorityg2",
          "sha256": "2ce1cb0bf9d2f9e102993fbe215152c3b2dd0cabde1c68e5319b839154dbb7f5"
        },
        {
          "alias": "starfieldservicesrootcertificateauthorityg2",
          "sha256": "568d6905a2c88708a4b3025190edcfedb1974a606a13c6e5290fcb2ae63edab5"
        },
        {
          "alias": "swisssigngoldcag2",
          "sha256": "62dd0be9b9f50a163ea0f8e75c053b1eca57ea55c8688f647c6881f2c8357b95"
        },
        {
          "alias": "swisssignsilvercag2",
          "sha256": "be6c4da2bbb9ba59b6f3939768374246c3c005993fa98f020d1dedbed48a81d5"
        },
        {
          "alias": "szafirrootca2",
          "sha256": "a1339d33281a0b56e557d3d32b1ce7f9367eb094bd5fa72a7e5004c8ded7cafe"
        },
        {
          "alias": "telekomsecuritytlseccroot2020",
          "sha256": "578af4ded0853f4e5998db4aeaf9cbea8d945f60b620a38d1a3c13b2bc7ba8e1"
        },
        {
          "alias": "telekomsecuritytlsrsaroot2023",
          "sha256": "efc65cadbb59adb6efe84da22311b35624b71b3b1ea0da8b6655174ec8978646"
        },
        {
          "alias": "teliarootcav2",
          "sha256": "242b69742fcb1e5b2abf98898b94572187544e5b4d9911786573621f6a74b82c"
        },
        {
          "alias": "teliasonerarootcav1",
          "sha256": "dd6936fe21f8f077c123a1a521c12224f72255b73e03a7260693e8a24b0fa389"
        },
        {
          "alias": "trustasiaglobalrootcag3",
          "sha256": "e0d3226aeb1163c2e48ff9be3b50b4c6431be7bb1eacc5c36b5d5ec509039a08"
        },
        {
          "alias": "trustasiaglobalrootcag4",
          "sha256": "be4b56cb5056c0136a526df444508daa36a0b54f42e4ac38f72af470e479654c"
        },
        {
          "alias": "trustwaveglobalcertificationauthority",
          "sha256": "97552015f5ddfc3c8788c006944555408894450084f100867086bc1a2bb58dc8"
        },
        {
          "alias": "trustwaveglobaleccp256certificationauthority",
          "sha256": "945bbc825ea554f489d1fd51a73ddf2ea624ac7019a05205225c22a78ccfa8b4"
        },
        {
          "alias": "trustwaveglobaleccp384certificationauthority",
          "sha256": "55903859c8c0c3ebb8759ece4e2557225ff5758bbd38ebd48276601e1bd58097"
        },
        {
          "alias": "ttelesecglobalrootclass2",
          "sha256": "91e2f5788d5810eba7ba58737de1548a8ecacd014598bc0b143e041b17052552"
        },
        {
          "alias": "ttelesecglobalrootclass3",
          "sha256": "fd73dad31c644ff1b43bef0ccdda96710b9cd9875eca7e31707af3e96d522bbd"
        },
        {
          "alias": "tubitakkamusmsslkoksertifikasisurum1",
          "sha256": "46edc3689046d53a453fb3104ab80dcaec658b2660ea1629dd7e867990648716"
        },
        {
          "alias": "tuntrustrootca",
          "sha256": "2e44102ab58cb85419451c8e19d9acf3662cafbc614b6a53960a30f7d0e2eb41"
        },
        {
          "alias": "twcaglobalrootca",
          "sha256": "59769007f7685d0fcd50872f9f95d5755a5b2b457d81f3692b610a98672f0e1b"
        },
        {
          "alias": "twcarootcertificationauthority",
          "sha256": "bfd88fe1101c41ae3e801bf8be56350ee9bad1a6b9bd515edc5c6d5b8711ac44"
        },
        {
          "alias": "ucaextendedvalidationroot",
          "sha256": "d43af9b35473755c9684fc06d7d8cb70ee5c28e773fb294eb41ee71722924d24"
        },
        {
          "alias": "ucaglobalg2root",
          "sha256": "9bea11c976fe014764c1be56a6f914b5a560317abd9988393382e5161aa0493c"
        },
        {
          "alias": "usertrustecccertificationauthority",
          "sha256": "4ff460d54b9c86dabfbcfc5712e0400d2bed3fbc4d4fbdaa86e06adcd2a9ad7a"
        },
        {
          "alias": "usertrustrsacertificationauthority",
          "sha256": "e793c9b02fd8aa13e21c31228accb08119643b749c898964b1746d46c3d4cbd2"
        },
        {
          "alias": "vtruseccrootca",
          "sha256": "30fbba2c32238e2a98547af97931e550428b9b3f1c8eeb6633dcfa86c5b27dd3"
        },
        {
          "alias": "vtrusrootca",
          "sha256": "8a71de6559336f426c26e53880d00d88a18da4c6a91f0dcb6194e206c5c96387"
        },
        {
          "alias": "xrampglobalcaroot",
          "sha256": "cecddc905099d8dadfc5b1d209b737cbe2c18cfb2c10c0ff0bcf0d3286fc1aa2"
        }
      ]
    }
  }
};
// END DATA
