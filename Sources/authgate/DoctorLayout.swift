import Foundation

/// What `authgate doctor` checks against: an installed server (the default: /etc/nginx, the
/// systemd units, an issuer and audience of your own) or the `make run` demo (scripts/run.sh),
/// recognised by its own files in the state directory: `demo-credentials` and the nginx config
/// run.sh renders into `nginx/`. The demo then passes on its own terms (issue 19 item 10).
struct DoctorLayout {
    /// nginx's main config, `nginx -t` arguments, and where the snippets must be.
    var nginxConf: String
    var nginxTestArguments: [String]
    var snippetDir: String
    /// nil: an installed server. Else the demo's state directory ($VAR).
    var demoState: String?

    var isDemo: Bool { demoState != nil }

    static func detect(stateDir: String, nginxConf explicit: String?) -> DoctorLayout {
        let demoConf = stateDir + "/nginx/nginx.conf"
        let fm = FileManager.default
        if explicit == nil, fm.fileExists(atPath: stateDir + "/demo-credentials"), fm.fileExists(atPath: demoConf) {
            // run.sh runs nginx with -p $VAR/nginx and the error log under $VAR/log.
            return DoctorLayout(nginxConf: demoConf,
                                nginxTestArguments: ["-t", "-q", "-p", stateDir + "/nginx", "-c", demoConf,
                                                     "-e", stateDir + "/log/nginx-error.log"],
                                snippetDir: stateDir + "/nginx/snippets", demoState: stateDir)
        }
        let conf = explicit ?? "/etc/nginx/nginx.conf"
        let snippets = ((conf as NSString).deletingLastPathComponent as NSString).appendingPathComponent("snippets")
        return DoctorLayout(nginxConf: conf, nginxTestArguments: ["-t", "-q", "-c", conf], snippetDir: snippets, demoState: nil)
    }
}
