import Testing

@testable import S3Protocol

@Suite("The S3 credentials file")
struct S3CredentialsFileTests {
    @Test("one key per line; comments, blank lines and CR LF endings are fine")
    func parsesKeys() throws {
        let text = """
            # id                 secret                                    name     mode
            AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY  backup   read-write\r

              reader1\tsecret+with/odd=chars\tdashboards\tread-only
            """
        let credentials = try S3CredentialsFile.parse(text)
        #expect(
            credentials == [
                S3Credential(
                    accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                    name: "backup", readOnly: false),
                S3Credential(
                    accessKeyID: "reader1", secretAccessKey: "secret+with/odd=chars", name: "dashboards", readOnly: true),
            ])
    }

    @Test("errors name the line, and never the secret")
    func errorsNameTheLine() {
        func error(_ text: String) -> S3CredentialsFileError? {
            do {
                _ = try S3CredentialsFile.parse(text)
                return nil
            } catch {
                return error as? S3CredentialsFileError
            }
        }
        let wrongCount = error("# keys\n\nAK1 topsecret1 alice\n")
        #expect(wrongCount?.line == 3)
        let badMode = error("AK1 topsecret1 alice read-write\nAK2 topsecret2 bob admin\n")
        #expect(badMode?.line == 2)
        #expect(badMode?.description.contains("admin") == true)
        let duplicate = error("AK1 topsecret1 alice read-write\n# again\nAK1 topsecret2 bob read-only\n")
        #expect(duplicate?.line == 3)
        #expect(duplicate?.reason.contains("line 1") == true)
        let slash = error("AK/1 topsecret1 alice read-write\n")
        #expect(slash?.line == 1)
        for failure in [wrongCount, badMode, duplicate, slash] {
            #expect(failure?.description.contains("topsecret") == false)
        }
    }

    @Test("a credential's descriptions leave the secret out")
    func descriptionsHideTheSecret() {
        let credential = S3Credential(accessKeyID: "AK1", secretAccessKey: "topsecret", name: "alice", readOnly: true)
        #expect(!"\(credential)".contains("topsecret"))
        #expect(!String(reflecting: credential).contains("topsecret"))
        #expect("\(credential)".contains("AK1"))
    }
}
